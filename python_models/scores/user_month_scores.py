"""Risk, age and income of every user-month, from one run of the int8 ONNX head.

Incremental, insert_overwrite by dt: a run replaces exactly the months it scores (dbt vars
score_dt_from / score_dt_to; unset = every month), so a rerun gives identical rows and a
backfill leaves other months untouched. The Spark plan (cache broadcast, mapInPandas, ONNX
sessions) is ml.scoring.score_user_months. The SQL marts risk_scores, age_scores and
income_scores split this table.
"""

from pyspark.sql import functions as F

from ml.artifacts import verify_manifest
from ml.scoring import keys_of_months, resolve_model_dir, score_user_months


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="insert_overwrite",
        partition_by=["dt"],
        file_format="parquet",
    )
    model_dir = resolve_model_dir(dbt.config.get("model_dir"))
    verify_manifest(model_dir)

    def months(frame):
        low, high = dbt.config.get("score_dt_from"), dbt.config.get("score_dt_to")
        if low:
            frame = frame.where(F.col("dt") >= low)
        if high:
            frame = frame.where(F.col("dt") <= high)
        return frame

    features = months(dbt.ref("user_month_features")).drop("is_train")
    sequences = months(dbt.ref("user_month_sequences")).drop("is_train")
    inputs = features.join(sequences, ["user_id", "dt"], "inner")
    keys = keys_of_months(dbt.ref("field_texts"), dbt.config.get("score_dt_from"), dbt.config.get("score_dt_to"))
    return score_user_months(session, inputs, dbt.ref("text_embedding_cache"), model_dir, keys)

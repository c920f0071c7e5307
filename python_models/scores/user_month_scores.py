"""Risk, age and income of every user-month, from one run of the int8 ONNX head.

Incremental, insert_overwrite by dt: a run replaces exactly the months it scores (dbt vars
score_dt_from / score_dt_to; unset = every month), so a rerun gives identical rows and a
backfill leaves other months untouched. The model version's embedding cache (64 bytes a key)
is read on the driver and broadcast to every Python worker, where each record's keys find
their vectors: user-months never shuffle their keys to a join (that join cost about 5 kB of
shuffle per user-month). The head runs in mapInPandas, one ONNX Runtime session per Python
worker with spark.task.cpus intra-op threads. The SQL marts risk_scores, age_scores and
income_scores split this table.
"""

from pyspark.sql import functions as F

from ml.artifacts import verify_manifest
from ml.scoring import SCORE_SCHEMA, VectorTable, resolve_model_dir, score_batches, text_proj_dim

USERS_PER_ARROW_BATCH = 512  # the head's batch: one Arrow batch is one ONNX run


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="insert_overwrite",
        partition_by=["dt"],
        file_format="parquet",
    )
    model_dir = resolve_model_dir(dbt.config.get("model_dir"))
    verify_manifest(model_dir)
    version = model_dir.name

    def months(frame):
        low, high = dbt.config.get("score_dt_from"), dbt.config.get("score_dt_to")
        if low:
            frame = frame.where(F.col("dt") >= low)
        if high:
            frame = frame.where(F.col("dt") <= high)
        return frame

    features = months(dbt.ref("user_month_features")).drop("is_train")
    sequences = months(dbt.ref("user_month_sequences")).drop("is_train")
    cache = dbt.ref("text_embedding_cache").where(F.col("model_version") == version).select("text_key", "vector")
    vectors = session.sparkContext.broadcast(VectorTable.from_cache(cache.toPandas(), version, text_proj_dim(model_dir)))
    inputs = features.join(sequences, ["user_id", "dt"], "inner")
    threads = int(session.conf.get("spark.task.cpus", "1"))
    session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(USERS_PER_ARROW_BATCH))
    return inputs.mapInPandas(score_batches(str(model_dir), threads, vectors), schema=SCORE_SCHEMA)

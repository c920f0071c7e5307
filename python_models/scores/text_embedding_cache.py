"""Each distinct field text key's vector, once per model version (the embedding cache).

Incremental with the append strategy and partitioned by model_version: a run encodes only the
keys of `field_texts` that this model version has not embedded yet (after the first month,
a few thousand a month), with the int8 ONNX text encoder through mapInPandas. With vars
score_dt_from / score_dt_to, only the keys those months hold. The model
directory is dbt var model_dir, else RIDECREDIT_MODEL_DIR, else artifacts/models/latest; its
manifest is verified here on the driver before anything is read or written, and again in
every Python worker before an ONNX session is created.
"""

from pyspark.sql import functions as F

from ml.artifacts import verify_manifest
from ml.scoring import CACHE_SCHEMA, embed_text_batches, keys_of_months, resolve_model_dir

KEYS_PER_ARROW_BATCH = 1024  # keys per Arrow batch; each runs alone through the encoder (ml.scoring)


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="append",
        partition_by=["model_version"],
        file_format="parquet",
    )
    model_dir = resolve_model_dir(dbt.config.get("model_dir"))
    verify_manifest(model_dir)
    # only the keys of the months being scored (a backfill of old months needs no newer text)
    keys = keys_of_months(dbt.ref("field_texts"), dbt.config.get("score_dt_from"), dbt.config.get("score_dt_to"))
    if dbt.is_incremental:
        cached = session.table(str(dbt.this)).where(F.col("model_version") == model_dir.name).select("text_key")
        keys = keys.join(cached, "text_key", "left_anti")
    threads = int(session.conf.get("spark.task.cpus", "1"))
    session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(KEYS_PER_ARROW_BATCH))
    return keys.mapInPandas(embed_text_batches(str(model_dir), threads), schema=CACHE_SCHEMA)

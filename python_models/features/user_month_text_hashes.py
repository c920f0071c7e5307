"""Hashed bag-of-words text embedding per user and snapshot month (see ml/text_hashing.py).

Incremental with insert_overwrite by dt: a run replaces exactly the months it produces, so a
rerun changes nothing and a backfill of one month (--vars '{text_hash_dt: 2026-05-01}')
leaves the others alone.
"""

from pyspark.sql import functions as F

from ml.text_hashing import OUTPUT_SCHEMA, TEXT_COLUMNS, hash_text_batches


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="insert_overwrite",
        partition_by=["dt"],
        file_format="parquet",
    )
    sequences = dbt.ref("user_month_sequences").select("user_id", "dt", *TEXT_COLUMNS)
    only_dt = dbt.config.get("text_hash_dt")
    if only_dt:
        sequences = sequences.where(F.col("dt") == only_dt)
    return sequences.mapInPandas(hash_text_batches, schema=OUTPUT_SCHEMA)

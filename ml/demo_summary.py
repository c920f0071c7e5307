"""What `make demo` built, where it lives and how to query it."""

from __future__ import annotations

import argparse
import os
import sys

import pandas as pd
from rich.console import Console

from ml.query import show

TABLES = [
    ("staging", "stg_platform__rejects", "raw rows staging could not use, with the reason"),
    ("features", "user_month_features", "numeric + categorical features per user and month"),
    ("features", "user_month_sequences", "last 20 rides / deliveries per user and month (text, geohash, time)"),
    ("features", "user_month_text_hashes", "hashed bag-of-words text embedding (Python model, mapInPandas)"),
    ("labels", "user_month_labels", "risk, age bucket and income labels"),
    ("monitoring", "feature_psi", "PSI per feature and month vs the base month"),
    ("monitoring", "feature_selection", "features kept: PSI-stable and not flattened by the clip"),
    ("preprocessing", "numeric_feature_params", "fill values and p10/p90 clip bounds (training window)"),
    ("preprocessing", "categorical_encodings", "ordinal codes, 0 = unknown"),
    ("preprocessing", "income_label_params", "how to turn an income score back into MXN"),
]


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m ml.demo_summary", description=__doc__).parse_args(argv)
    from ml.spark_session import spark_session

    spark = spark_session()
    console = Console()
    rows = []
    for schema, name, what in TABLES:
        qualified = f"{schema}.{name}"
        count = f"{spark.table(qualified).count():,}" if spark.catalog.tableExists(qualified) else "not built"
        rows.append({"table": qualified, "rows": count, "what it holds": what})
    show(pd.DataFrame(rows), title="ridecredit: tables built by `make demo`", console=console)
    warehouse = os.environ.get("RIDECREDIT_WAREHOUSE", ".warehouse")
    console.print(
        f"Warehouse: {warehouse}/spark-warehouse (parquet), metastore: {warehouse}/metastore_db\n"
        "Query them:\n"
        "  .venv/bin/python -m ml.query \"select * from monitoring.feature_psi where psi_band = 'unstable'\"\n"
        "  .venv/bin/dbt show --inline \"select * from {{ ref('user_month_labels') }}\" --limit 10\n"
        "Score tables (risk, age, income) arrive with the scoring models; see README.md."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

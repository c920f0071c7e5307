"""Compare the marts of two warehouses built from one landing zone, row for row.

Used to check that a change to the SQL leaves the marts unchanged where it should: build the
same landing with the old code into one warehouse and the new code into another, then

    python benchmarks/compare_marts.py /work/wh_old /work/wh_new

For each mart it prints the row counts, ``except all`` both ways on the shared columns, the
columns only one side has, and the users behind the differing rows of the user-month marts
(so they can be matched with the rejects that explain them). It reads the parquet files, so
it needs neither warehouse's metastore.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MARTS = (
    "features.user_month_features", "features.user_month_sequences", "features.field_texts",
    "labels.user_month_labels", "monitoring.feature_psi", "monitoring.feature_selection",
    "monitoring.field_text_novelty", "preprocessing.numeric_feature_params",
    "preprocessing.categorical_encodings", "preprocessing.income_label_params",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="example: python benchmarks/compare_marts.py OLD NEW")
    parser.add_argument("old", type=Path, help="warehouse built by the old code (RIDECREDIT_WAREHOUSE)")
    parser.add_argument("new", type=Path, help="warehouse built by the new code")
    args = parser.parse_args(argv)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "8").config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    identical = True
    for table in MARTS:
        schema, name = table.split(".")
        old, new = (spark.read.parquet(str(w / "spark-warehouse" / f"{schema}.db" / name)) for w in (args.old, args.new))
        shared = [c for c in old.columns if c in new.columns]
        old_minus = old.select(shared).exceptAll(new.select(shared))
        new_minus = new.select(shared).exceptAll(old.select(shared))
        n_old_minus, n_new_minus = old_minus.count(), new_minus.count()
        users = ""
        if "user_id" in shared and n_old_minus + n_new_minus:
            ids = {r.user_id for r in old_minus.select("user_id").union(new_minus.select("user_id")).distinct().collect()}
            users = f"; users behind the differences: {sorted(ids)}"
        columns = sorted(set(old.columns) ^ set(new.columns))
        identical &= n_old_minus == n_new_minus == 0 and not columns
        print(f"{table}: {old.count():,} vs {new.count():,} rows; old except new {n_old_minus}, new except old "
              f"{n_new_minus}; columns on one side only {columns}{users}", flush=True)
    print("identical" if identical else "different")
    return 0


if __name__ == "__main__":
    sys.exit(main())

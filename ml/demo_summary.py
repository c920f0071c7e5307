"""What `make demo` built, where it lives and how to query it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console

from ml.query import show

TABLES = [
    ("staging", "stg_platform__rejects", "raw rows staging could not use, with the reason"),
    ("features", "user_month_features", "numeric + categorical features per user and month"),
    ("features", "user_month_sequences", "last 20 rides / deliveries per user and month (text, geohash, time)"),
    ("features", "field_texts", "distinct field text keys: what the encoder embeds, once each"),
    ("labels", "user_month_labels", "risk, age bucket and income labels"),
    ("monitoring", "feature_psi", "PSI per feature and month vs the base month"),
    ("monitoring", "feature_selection", "features kept: PSI-stable and not flattened by the clip"),
    ("preprocessing", "numeric_feature_params", "fill values and p10/p90 clip bounds (training window)"),
    ("preprocessing", "categorical_encodings", "ordinal codes, 0 = unknown"),
    ("preprocessing", "income_label_params", "how to turn an income score back into MXN"),
    ("monitoring", "field_text_novelty", "distinct and new field texts per month"),
    ("scores", "text_embedding_cache", "each field key's vector, once per model version (Python model)"),
    ("scores", "user_month_scores", "all three scores from one ONNX run per user-month (Python model)"),
    ("scores", "risk_scores", "probability of going overdue and risk points"),
    ("scores", "age_scores", "age bucket 0-3 and its four probabilities"),
    ("scores", "income_scores", "monthly income, MXN"),
    ("monitoring", "score_psi", "PSI per score and month vs the base month"),
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
        "  .venv/bin/python -m ml.query \"select dt, count(*) as users, avg(risk_prob) as mean_risk, "
        "percentile(risk_points, 0.5) as median_points from scores.risk_scores group by dt order by dt\"\n"
        "  .venv/bin/dbt show --inline \"select * from {{ ref('income_scores') }}\" --limit 10"
    )
    print_model_headline(console)
    return 0


def print_model_headline(console: Console) -> None:
    """The trained model's test-month figures, from artifacts/models/latest/metrics.json."""
    metrics_path = Path("artifacts/models/latest/metrics.json")
    if not metrics_path.is_file():
        console.print("No trained model yet: `make train` (python -m ml.train --config demo) makes one.")
        return
    metrics = json.loads(metrics_path.read_text())
    rows = [
        {
            "model": name,
            "risk AUC": f"{s['risk']['auc']:.4f}",
            "age macro-F1": f"{s['age']['macro_f1']:.4f}",
            "income Spearman": f"{s['income']['spearman']:.4f}",
            "income MAE (MXN)": f"{s['income']['mae_mxn']:,.0f}",
        }
        for name, s in metrics["models"].items()
    ]
    show(pd.DataFrame(rows), title=f"model {metrics['version']}, test month {metrics['split']['test'][0]}", console=console)
    retention = metrics["distillation"]["retention"]
    console.print(
        f"retention (student - no_text) / (teacher - no_text): risk {retention['risk']:.3f}, age {retention['age']:.3f}, "
        f"income {retention['income']:.3f}; report: {metrics_path.parent.resolve() / 'report.html'}"
    )


if __name__ == "__main__":
    sys.exit(main())

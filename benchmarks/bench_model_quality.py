"""The model-quality table of `python -m ml.train` at a larger population, where intervals are tighter.

Builds a warehouse of ``--users`` users (default 100 000) with `bench_dbt_build.bench` (generate,
seed, register, `dbt build` of the curated tables), trains the demo profile on it in a child
process, and prints the test-month metrics of every model, retention, and every paired
bootstrap comparison with its 95 % interval and whether it excludes zero.

    python benchmarks/bench_model_quality.py                          # 100k users, demo profile
    python benchmarks/bench_model_quality.py --users 50000 --json quality.json --keep
    python benchmarks/bench_model_quality.py --reuse --keep                  # retrain on the kept warehouse
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench_dbt_build import REPO, bench

from ml.evaluate import HEADLINE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--config", default="demo", help="model profile (default demo)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ridecredit-bench-quality"))
    parser.add_argument("--driver-memory", default="10g")
    parser.add_argument("--json", default=None, help="write metrics.json's comparison figures here")
    parser.add_argument("--keep", action="store_true", help="keep the warehouse and the model afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="train on the warehouse an earlier --keep run left in --workdir (no generation, no dbt build)")
    args = parser.parse_args(argv)
    console = Console()

    root = args.workdir / f"users_{args.users}"
    if args.reuse:
        if not (root / "spark-warehouse").is_dir():
            raise SystemExit(f"--reuse: no kept warehouse at {root}; run once with --keep first")
        built = {"build_s": None}
        console.print(f"reusing the warehouse at {root}")
    else:
        built = bench(args.users, args.months, args.seed, args.workdir, args.driver_memory, console)
    env = {**os.environ, "DBT_PROFILES_DIR": str(REPO / "profiles"), "RIDECREDIT_WAREHOUSE": str(root),
           "RIDECREDIT_DRIVER_MEMORY": args.driver_memory}
    console.print(f"training the {args.config} profile …")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ml.train", "--config", args.config, "--out", str(root / "models")],
                          cwd=REPO, env=env)
    if done.returncode:
        raise SystemExit(f"python -m ml.train failed (exit {done.returncode})")
    train_s = time.perf_counter() - started
    metrics = json.loads(((root / "models" / "latest").resolve() / "metrics.json").read_text())

    table = Table(title=f"test month {metrics['split']['test'][0]}, {args.users:,} users, {args.config} profile")
    for column in ("model", "risk AUC", "KS", "age acc", "age macro-F1", "income MAE", "income Spearman"):
        table.add_column(column, justify="right")
    for name, s in metrics["models"].items():
        table.add_row(name, f"{s['risk']['auc']:.4f}", f"{s['risk']['ks']:.4f}", f"{s['age']['accuracy']:.4f}",
                      f"{s['age']['macro_f1']:.4f}", f"{s['income']['mae_mxn']:,.0f}", f"{s['income']['spearman']:.4f}")
    console.print(table)
    comparisons = Table(title=f"paired bootstrap, {metrics['bootstrap_samples']} resamples of the test users")
    for column in ("a - b", "metric", "difference", "95% interval", "excludes 0"):
        comparisons.add_column(column, justify="right")
    for pair, by_metric in metrics["comparisons"].items():
        for metric, c in by_metric.items():
            comparisons.add_row(pair, metric, f"{c['difference']:+.4f}", f"[{c['ci95_low']:+.4f}, {c['ci95_high']:+.4f}]",
                                "yes" if c["excludes_zero"] else "no")
    console.print(comparisons)
    segments = Table(title="segments of the test month: student - gbm_text (users with the label)")
    for column in ("segment", *(title for *_, title in HEADLINE)):
        segments.add_column(column, justify="right")
    for by in metrics["segments"].values():
        for name, segment in by.items():
            cells = []
            for task, _, key, _ in HEADLINE:
                c = segment["student - gbm_text"][key]
                cells.append("–" if c is None else f"{c['difference']:+.4f} [{c['ci95_low']:+.4f}, {c['ci95_high']:+.4f}]"
                             f"{' *' if c['excludes_zero'] else ''} ({segment['users'][task]:,})")
            segments.add_row(name, *cells)
    console.print(segments)
    console.print("* the interval excludes 0")
    retention = metrics["distillation"]["retention"]
    build = "" if built["build_s"] is None else f"dbt build {built['build_s']:.0f} s, "
    console.print(f"retention: risk {retention['risk']:.3f}, age {retention['age']:.3f}, income {retention['income']:.3f}; "
                  f"{build}python -m ml.train {train_s:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "users": args.users, "dbt_build_s": built["build_s"], "train_s": train_s, "row_counts": metrics["row_counts"],
            "models": metrics["models"], "comparisons": metrics["comparisons"], "segments": metrics["segments"], "retention": retention,
            "stage_seconds": metrics["stage_seconds"],
        }, indent=2))
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

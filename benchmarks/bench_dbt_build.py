"""Benchmark ``dbt build`` of the curated feature layer at several population sizes.

For each size: generate the population with ``python -m ml.synth`` into its own warehouse,
load seeds and register the raw tables, then time one ``dbt build`` (every model and data
test) in a child process with the `local` profile (local[*], so all cores of this machine).
Prints wall time, raw rows and rows/s per size, and each time's ratio to the first size,
next to the ratio of populations: growth is linear or better when the time ratio is at
most the population ratio. Then the slowest nodes of each size, from its run_results.json.
Local disk: Spark's shuffle files peaked at about 39 GB for 1M users x 6 months.

    python benchmarks/bench_dbt_build.py                      # 100k and 1M users x 6 months
    python benchmarks/bench_dbt_build.py --users 20000 100000
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

import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
DBT = str(Path(sys.executable).parent / "dbt")


def raw_rows(landing: Path) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in (landing / "raw").rglob("*.parquet"))


def slowest_nodes(run_results: Path, top: int = 8) -> list[tuple[str, float]]:
    """The nodes that dominate the build: where a speed-up would pay."""
    results = json.loads(run_results.read_text())["results"]
    timed = sorted(((r["unique_id"], r["execution_time"]) for r in results), key=lambda r: -r[1])
    return timed[:top]


def run(cmd: list[str], env: dict[str, str], log: Path) -> float:
    start = time.perf_counter()
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        done = subprocess.run(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {done.returncode}); see {log}")
    return time.perf_counter() - start


def bench(users: int, months: int, seed: int, workdir: Path, driver_memory: str, console: Console) -> dict:
    root = workdir / f"users_{users}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    log = root / "bench.log"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(REPO / "profiles"),
        "RIDECREDIT_WAREHOUSE": str(root),
        "RIDECREDIT_LANDING": str(root / "landing"),
        "RIDECREDIT_DRIVER_MEMORY": driver_memory,
        "RIDECREDIT_SHUFFLE_PARTITIONS": os.environ.get("RIDECREDIT_SHUFFLE_PARTITIONS", "32"),
        # Each size keeps its own run_results.json, so the slowest nodes can be compared.
        "DBT_TARGET_PATH": str(root / "target"),
    }
    console.print(f"[bold]{users:,} users[/]: generating …")
    t_gen = run([sys.executable, "-m", "ml.synth", "--users", str(users), "--months", str(months),
                 "--seed", str(seed), "--out", str(root / "landing")], env, log)
    rows = raw_rows(root / "landing")
    console.print(f"  {rows:,} raw rows in {t_gen:.0f} s; registering …")
    run([DBT, "seed"], env, log)
    run([DBT, "run-operation", "register_raw_sources"], env, log)
    console.print("  dbt build …")
    t_build = run([DBT, "build", "--exclude", "tag:scoring"], env, log)
    console.print(f"  dbt build: {t_build:.0f} s")
    return {"slowest": slowest_nodes(root / "target" / "run_results.json"),"users": users, "rows": rows, "generate_s": t_gen, "build_s": t_build, "log": log}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ridecredit-bench-dbt"))
    parser.add_argument("--driver-memory", default="10g", help="spark.driver.memory (default 10g)")
    parser.add_argument("--keep", action="store_true", help="keep the warehouses afterwards")
    args = parser.parse_args(argv)

    console = Console()
    results = [bench(n, args.months, args.seed, args.workdir, args.driver_memory, console) for n in args.users]
    first = results[0]
    table = Table(title=f"dbt build of the feature layer, {os.cpu_count()} cores, {args.months} months")
    for column in ("users", "raw rows", "dbt build (s)", "raw rows/s", "users ratio", "time ratio"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            f"{r['users']:,}", f"{r['rows']:,}", f"{r['build_s']:.0f}", f"{r['rows'] / r['build_s']:,.0f}",
            f"{r['users'] / first['users']:.1f}x", f"{r['build_s'] / first['build_s']:.2f}x",
        )
    console.print(table)
    for r in results:
        slow = Table(title=f"slowest nodes, {r['users']:,} users")
        slow.add_column("node")
        slow.add_column("seconds", justify="right")
        for node, seconds in r["slowest"]:
            slow.add_row(node, f"{seconds:.0f}")
        console.print(slow)
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

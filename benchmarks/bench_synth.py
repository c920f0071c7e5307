"""Benchmark ``python -m ml.synth``: wall time, rows/s and peak RSS per population size.

Each size runs the real CLI in a child process; peak memory is that child's
``ru_maxrss`` (taken with ``os.wait4``, so runs do not contaminate each other).
With ``--workers`` > 1 the generating processes are grandchildren and are not
included -- benchmark memory with the default single worker.  Rows are counted
from the parquet footers afterwards.

    python benchmarks/bench_synth.py                       # 100k and 1M users x 6 months
    python benchmarks/bench_synth.py --users 20000 100000 --months 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]


def count_rows(root: Path) -> dict[str, int]:
    """Rows per schema.table, from parquet metadata only."""
    out: dict[str, int] = {}
    for p in root.rglob("*.parquet"):
        rel = p.relative_to(root).parts
        key = f"{rel[0]}.{rel[1]}"
        out[key] = out.get(key, 0) + pq.ParquetFile(p).metadata.num_rows
    return dict(sorted(out.items()))


def run_once(users: int, months: int, seed: int, chunk_users: int, workers: int, out: Path) -> dict[str, object]:
    cmd = [sys.executable, "-m", "ml.synth", "--users", str(users), "--months", str(months), "--seed", str(seed),
           "--chunk-users", str(chunk_users), "--workers", str(workers), "--out", str(out), "--no-progress"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # wait4 gives this child's own rusage (ru_maxrss in KiB on Linux)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    log = proc.stdout.read().decode() if proc.stdout else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"generator failed ({proc.returncode}):\n{log}")
    rows = count_rows(out)
    total = sum(rows.values())
    size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    return {"users": users, "months": months, "wall_s": wall, "rows": rows, "total_rows": total,
            "rows_per_s": total / wall, "peak_rss_mib": ru.ru_maxrss / 1024, "disk_mib": size / 2**20,
            "cpu_s": ru.ru_utime + ru.ru_stime}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, nargs="+", default=[100_000, 1_000_000], help="population sizes")
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--chunk-users", type=int, default=50_000)
    ap.add_argument("--workers", type=int, default=1,
                    help="generator processes; with >1 the peak RSS shown is the parent's only")
    ap.add_argument("--out", type=Path, default=None, help="scratch dir (default: a temp dir, removed after)")
    a = ap.parse_args()
    scratch = a.out or Path(tempfile.mkdtemp(prefix="bench_synth_"))
    try:
        for n in a.users:
            r = run_once(n, a.months, a.seed, a.chunk_users, a.workers, scratch / f"u{n}")
            print(f"users={r['users']:>10,} months={r['months']} rows={r['total_rows']:>12,} "
                  f"wall={r['wall_s']:8.1f}s rows/s={r['rows_per_s']:>10,.0f} "
                  f"peak_rss={r['peak_rss_mib']:7.0f} MiB cpu={r['cpu_s']:.0f}s disk={r['disk_mib']:,.0f} MiB",
                  flush=True)
            print("   " + ", ".join(f"{k}={v:,}" for k, v in r["rows"].items()), flush=True)
            shutil.rmtree(scratch / f"u{n}", ignore_errors=True)
    finally:
        if a.out is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""CLI: ``python -m ml.synth --users N --months M --seed S --start-month YYYY-MM --out DIR``."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from .dirt import DRIFT
from .generate import RunConfig, generate
from .schema import TABLES


def _month(s: str) -> date:
    try:
        y, m = s.split("-")[:2]
        return date(int(y), int(m), 1)
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"expected YYYY-MM, got {s!r}") from None


def _positive(s: str) -> int:
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return v


def build_parser() -> argparse.ArgumentParser:
    tables = "\n".join(
        f"  {t.schema}/{t.table}/{'dt=YYYY-MM-01/' if t.partitioned else ''}part-NNNNN.parquet" for t in TABLES
    )
    p = argparse.ArgumentParser(
        prog="python -m ml.synth",
        description="Deterministic synthetic ride-hailing + food-delivery landing data for Mexican cities,\n"
                    "with hidden personas driving default risk, age and income, realistic dirt and one\n"
                    "planted drift. Same arguments (workers aside) -> identical table contents.",
        epilog=f"Writes (each table directory is wiped first):\n{tables}\n\n"
               f"Planted drift: {DRIFT['schema']}.{DRIFT['table']}.{DRIFT['column']} x{DRIFT['factor']} in "
               f"month #{int(DRIFT['month_index']) + 1} ({DRIFT['dt']} for the default start).\n"  # type: ignore[call-overload]
               "See ml/synth/__init__.py for the generating process.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--users", type=_positive, default=20_000, help="number of users (default: 20000)")
    p.add_argument("--months", type=_positive, default=6, help="number of monthly partitions (default: 6)")
    p.add_argument("--seed", type=int, default=42, help="master seed (default: 42)")
    p.add_argument("--start-month", type=_month, default=date(2026, 1, 1), metavar="YYYY-MM",
                   help="first month (default: 2026-01)")
    p.add_argument("--out", type=Path, default=Path(".warehouse/landing"),
                   help="landing root directory (default: .warehouse/landing)")
    p.add_argument("--chunk-users", type=_positive, default=50_000,
                   help="users per chunk = per output file; bounds memory (default: 50000). "
                        "Part of the output's identity: change it and the rows change.")
    p.add_argument("--workers", type=_positive, default=1,
                   help="processes generating chunks in parallel (default: 1; output does not depend on it)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = RunConfig(users=args.users, months=args.months, seed=args.seed, start_month=args.start_month,
                    out=args.out, chunk_users=args.chunk_users, workers=args.workers)
    summary = generate(cfg, progress=not args.no_progress and sys.stderr.isatty())
    _print_summary(summary)
    return 0


def _print_summary(s: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"ml.synth -> {s['out']}")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for k, v in s["rows"].items():
        t.add_row(k, f"{v:,}")
    t.add_row("[b]total[/b]", f"[b]{s['total_rows']:,}[/b]")
    c = Console()
    c.print(t)
    c.print(f"months {s['months'][0]} .. {s['months'][-1]}, drift month: {s['drift_dt']}, "
            f"chunks {s['chunks']}, workers {s['workers']}")
    c.print(f"elapsed {s['elapsed_s']:.1f} s, {s['rows_per_s']:,.0f} rows/s, output: {s['out']}")


if __name__ == "__main__":
    raise SystemExit(main())

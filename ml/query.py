"""Run SQL against the project's warehouse from a shell: ``python -m ml.query "select ..."``.

Uses the Spark settings of ``profiles/profiles.yml`` (target ``local`` unless DBT_TARGET or
--target says otherwise), so it sees exactly the tables dbt built. The embedded Derby
metastore admits one process at a time: run it when dbt is not running, or start the shared
metastore with ``make sql-server`` and export the RIDECREDIT_METASTORE_URIS it prints (then dbt,
this and any JDBC client run at once).
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table


def show(frame, title: str | None = None, console: Console | None = None) -> None:
    """Print a pandas frame as a rich table."""
    table = Table(title=title, show_lines=False)
    for column in frame.columns:
        table.add_column(str(column), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*("∅" if value is None else str(value) for value in row))
    (console or Console()).print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.query", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sql", nargs="+", help="one or more SQL statements, each one argument")
    parser.add_argument("--limit", type=int, default=50, help="rows to print per statement (default 50)")
    parser.add_argument("--target", default=None, help="profile target (default: DBT_TARGET or the profile's)")
    args = parser.parse_args(argv)

    from ml.spark_session import spark_session

    spark = spark_session(args.target)
    for statement in args.sql:
        show(spark.sql(statement).limit(args.limit).toPandas(), title=statement)
    return 0


if __name__ == "__main__":
    sys.exit(main())

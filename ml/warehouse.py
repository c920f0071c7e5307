"""Reading the curated dbt tables, with errors that say which dbt command builds a missing one."""

from __future__ import annotations

from typing import Any


class MissingTableError(RuntimeError):
    pass


def read_table(spark: Any, name: str) -> Any:
    """``spark.table(name)``, or an error naming the table and the dbt command that builds it."""
    table = name.split(".", 1)[-1]
    if not spark.catalog.tableExists(name):
        raise MissingTableError(
            f"table {name} does not exist in this warehouse: run `dbt build --select +{table}` "
            "(or `make demo` for the demo population) first"
        )
    return spark.table(name)

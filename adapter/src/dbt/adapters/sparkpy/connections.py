"""Credentials and connection manager: dbt-spark's, under the adapter type ``sparkpy``.

Two changes to dbt-spark's ``session`` method:

- bindings (the values ``dbt seed`` inserts) are rendered as proper Spark SQL literals.
  dbt-spark's session cursor pastes ``'{value}'`` into the statement, so ``O'Brien`` is a
  syntax error, a backslash is read as an escape, ``${env:HOME}`` is substituted, and an
  empty CSV cell becomes ``'None'``;
- a failing statement is a dbt "Database Error" carrying Spark's message. pyspark's errors
  have no ``args``, which dbt-spark's handler re-raises as they are: dbt then reports
  "Unhandled error", as if dbt itself had crashed.
"""

from __future__ import annotations

import datetime as dt
import decimal
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional

from dbt.adapters.contracts.connection import Connection
from dbt.adapters.events.logging import AdapterLogger
from dbt.adapters.spark.connections import SparkConnectionManager, SparkCredentials
from dbt.adapters.spark.session import SessionConnectionWrapper
from dbt_common.exceptions import DbtDatabaseError, DbtRuntimeError
from pyspark.errors import PySparkException

logger = AdapterLogger("Spark")


@dataclass
class SparkPyCredentials(SparkCredentials):
    """Same fields as dbt-spark (``method``, ``host``, ``server_side_parameters``, ...)."""

    @property
    def type(self) -> str:
        return "sparkpy"


def spark_string_literal(text: str) -> str:
    """``text`` as a Spark SQL string literal that reads back exactly.

    Spark unescapes backslash sequences inside quotes (``spark.sql.parser.escapedStringLiterals``
    is false by default), so the backslash is escaped first, then the quote. Spark also
    substitutes ``${name}`` in the statement's text before parsing it (``${env:HOME}`` becomes
    the driver's home directory), so its ``$`` is written as the escape ``\\u0024``.
    """
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("${", "\\u0024{")
    return "'" + escaped + "'"


def spark_sql_literal(value: Any) -> str:
    """A seed binding as the Spark SQL literal that ``cast(%s as <type>)`` receives."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, decimal.Decimal)):
        number = decimal.Decimal(value)
        if not number.is_finite():
            return spark_string_literal(str(float(value)))  # cast('nan' as double) is NaN
        if number == number.to_integral_value():
            # Exact: dbt-spark's float() turns ids above 2**53 into their neighbours.
            return str(int(number))
        return repr(float(value))
    if isinstance(value, dt.datetime):
        return spark_string_literal(value.strftime("%Y-%m-%d %H:%M:%S.%f"))
    return spark_string_literal(str(value))


@contextmanager
def spark_errors_as_database_errors() -> Iterator[None]:
    """Spark's errors, including those dbt-spark's cursor wraps, as DbtDatabaseError with Spark's message."""
    try:
        yield
    except PySparkException as exc:
        raise DbtDatabaseError(str(exc)) from exc
    except DbtRuntimeError as exc:
        if isinstance(exc.__cause__, PySparkException):  # the cursor's wrapped AnalysisException
            raise DbtDatabaseError(str(exc.__cause__)) from exc.__cause__
        raise


class SparkPySessionConnectionWrapper(SessionConnectionWrapper):
    """dbt-spark's in-process cursor with bindings rendered by :func:`spark_sql_literal`."""

    @classmethod
    def _fix_binding(cls, value: Any) -> str:  # type: ignore[override]
        return spark_sql_literal(value)

    def execute(self, sql: str, bindings: Optional[List[Any]] = None) -> None:
        with spark_errors_as_database_errors():
            super().execute(sql, bindings)

    def fetchall(self) -> Optional[List[Any]]:
        # Runs the query's remaining work (dbt fetches outside its exception handler).
        with spark_errors_as_database_errors():
            return super().fetchall()


class SparkPyConnectionManager(SparkConnectionManager):
    TYPE = "sparkpy"

    @contextmanager
    def exception_handler(self, sql: str) -> Iterator[None]:
        """dbt-spark's, but a DbtDatabaseError goes through as it is, not re-wrapped as "Runtime Error"."""
        try:
            yield
        except DbtDatabaseError as exc:
            logger.debug(f"Error while running:\n{sql}")
            logger.debug(exc)
            raise
        except Exception:
            with super().exception_handler(sql):
                raise

    @classmethod
    def open(cls, connection: Connection) -> Connection:
        connection = super().open(connection)
        handle = connection.handle
        if isinstance(handle, SessionConnectionWrapper) and not isinstance(handle, SparkPySessionConnectionWrapper):
            connection.handle = SparkPySessionConnectionWrapper(handle.handle)
        return connection

"""Run a compiled dbt Python model in this process, on the SparkSession that runs the SQL."""

from __future__ import annotations

from typing import Any

from dbt.adapters.base import PythonJobHelper
from dbt.adapters.spark.connections import SparkConnectionMethod
from dbt_common.exceptions import DbtRuntimeError
from pyspark.sql import SparkSession

from dbt.adapters.sparkpy.connections import SparkPyCredentials


def session_for(credentials: SparkPyCredentials) -> SparkSession:
    """The session dbt-spark's ``session`` method uses for SQL.

    ``SparkSession.getActiveSession()`` is thread-local and returns None in dbt's worker
    threads, so build it the way dbt-spark's cursor does: ``getOrCreate`` returns the
    one JVM session, configured from the profile's ``server_side_parameters``.
    """
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in credentials.server_side_parameters.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


class SessionPythonJobHelper(PythonJobHelper):
    """``submission_method: session``: exec the compiled model code with ``spark`` bound."""

    def __init__(self, parsed_model: dict[str, Any], credentials: SparkPyCredentials) -> None:
        self.unique_id: str = parsed_model.get("unique_id", parsed_model.get("alias", "?"))
        if credentials.method != SparkConnectionMethod.SESSION:
            raise DbtRuntimeError(
                f"Python model {self.unique_id} cannot run with `method: {credentials.method}`: "
                "Python models execute in-process on a SparkSession and need `method: session` "
                "in the profile (e.g. `--target local` or `--target cluster`). "
                "The thrift target runs SQL models only; exclude Python models with "
                "`--exclude config.language:python`."
            )
        self.credentials = credentials

    def submit(self, compiled_code: str) -> SparkSession:
        spark = session_for(self.credentials)
        # create_table_as indents the py_write_table call, i.e. only the script's first line.
        code = compile(compiled_code.lstrip(), filename=f"<dbt python model {self.unique_id}>", mode="exec")
        namespace: dict[str, Any] = {"__name__": "__dbt_python_model__", "spark": spark}
        exec(code, namespace)  # noqa: S102 - this is what running a dbt Python model means
        return spark

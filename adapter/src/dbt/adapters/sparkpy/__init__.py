"""dbt-spark, plus Python models that run in-process on the dbt SparkSession.

Upstream dbt-spark submits Python models only to Databricks. This plugin depends on
the ``spark`` adapter, so every ``spark__`` macro and materialization is reused, and
adds one Python submission method, ``session``.
"""

import logging
import os
import sys

from dbt.adapters.base import AdapterPlugin
from dbt.adapters.sparkpy.connections import SparkPyConnectionManager, SparkPyCredentials
from dbt.adapters.sparkpy.impl import SparkPyAdapter
from dbt.include import sparkpy

__all__ = ["Plugin", "SparkPyAdapter", "SparkPyConnectionManager", "SparkPyCredentials"]

# Python workers (mapInPandas, UDFs) must run the interpreter that runs dbt, where the
# project's packages are installed, not whatever `python3` is first on PATH.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
# pyspark logs every failed statement as a JSON blob; dbt already reports the error once.
logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)

Plugin = AdapterPlugin(
    adapter=SparkPyAdapter,  # type: ignore[arg-type]
    credentials=SparkPyCredentials,
    include_path=sparkpy.PACKAGE_PATH,
    dependencies=["spark"],
)

"""Credentials and connection manager: dbt-spark's, under the adapter type ``sparkpy``."""

from dataclasses import dataclass

from dbt.adapters.spark.connections import SparkConnectionManager, SparkCredentials


@dataclass
class SparkPyCredentials(SparkCredentials):
    """Same fields as dbt-spark (``method``, ``host``, ``server_side_parameters``, ...)."""

    @property
    def type(self) -> str:
        return "sparkpy"


class SparkPyConnectionManager(SparkConnectionManager):
    TYPE = "sparkpy"

"""A SparkSession configured from ``profiles/profiles.yml``, the one home of connection settings.

Training, the data generator's table registration and the tests use the same Spark
configuration dbt uses, so they see the same warehouse and metastore.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import jinja2
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
PROFILES_FILE = REPO_ROOT / "profiles" / "profiles.yml"
PROFILE_NAME = "ridecredit"


def _env_var(name: str, default: str | None = None) -> str:
    if name in os.environ:
        return os.environ[name]
    if default is None:
        raise KeyError(f"environment variable {name!r} is required by {PROFILES_FILE} and is not set")
    return default


def load_target(target: str | None = None) -> dict[str, Any]:
    """The rendered output block of ``target`` (default: ``DBT_TARGET`` or the profile's default)."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.globals["env_var"] = _env_var
    env.filters["as_number"] = lambda value: value
    profile = yaml.safe_load(env.from_string(PROFILES_FILE.read_text()).render())[PROFILE_NAME]
    name = target or profile["target"]
    if name not in profile["outputs"]:
        raise ValueError(f"target={name!r} is not in {PROFILES_FILE}; known: {sorted(profile['outputs'])}")
    return profile["outputs"][name]


def spark_conf(target: str | None = None) -> dict[str, str]:
    """Server-side parameters of a session-method target, as dbt-spark applies them."""
    output = load_target(target)
    if output.get("method") != "session":
        raise ValueError(f"target uses method={output.get('method')!r}; a local SparkSession needs method: session")
    conf = {str(k): str(v) for k, v in output.get("server_side_parameters", {}).items()}
    conf["spark.sql.ansi.enabled"] = "false"  # dbt-spark forces this too
    return conf


def spark_session(target: str | None = None):
    """Get or create the process's SparkSession with the profile's settings."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need this venv's packages
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_conf(target).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def release_driver_heap(spark) -> None:
    """Ask the driver JVM for a full GC, after which G1 returns its free heap to the OS.

    Collecting the marts to pandas grows the driver's heap to several GiB (about 7 GiB at 100k
    users) that it keeps while training runs in Python beside it and needs the memory.
    """
    jvm = getattr(spark.sparkContext, "_jvm", None)
    if jvm is not None:
        jvm.java.lang.System.gc()

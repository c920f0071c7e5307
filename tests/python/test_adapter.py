"""The sparkpy adapter: dbt Python models in-process on open-source Spark, for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROFILES_DIR, REPO, run_dbt, write_project
from spark_services import standalone_cluster, thrift_server

STG_NUMBERS = """
select
    id,
    cast(id * {{ var('scale', 1) }} as bigint) as amount,
    concat('2026-0', cast(1 + id % 3 as string), '-01') as dt
from range(30) as t (id)
"""

PY_ENRICHED = '''
import pandas as pd


def add_band(batches):
    for pdf in batches:
        pdf["band"] = pd.cut(pdf["amount"], bins=[-1, 9, 19, 10_000], labels=["low", "mid", "high"]).astype(str)
        yield pdf


def model(dbt, spark):
    dbt.config(materialized="table")
    numbers = dbt.ref("stg_numbers")
    return numbers.mapInPandas(add_band, schema="id long, amount long, dt string, band string")
'''

PY_INCREMENTAL = '''
from pyspark.sql import functions as F


def model(dbt, spark):
    dbt.config(materialized="incremental", incremental_strategy="insert_overwrite", partition_by=["dt"])
    numbers = dbt.ref("stg_numbers")
    only_dt = dbt.config.get("only_dt")
    if only_dt:
        numbers = numbers.where(F.col("dt") == only_dt)
    return numbers.select("id", (F.col("amount") * 2).alias("doubled"), "dt")
'''

PY_INCREMENTAL_YML = """
version: 2
models:
  - name: py_incremental
    config:
      only_dt: "{{ var('only_dt', '') }}"
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(
        tmp_path_factory.mktemp("adapter_project"),
        "adapter_fx",
        {
            "models/stg_numbers.sql": STG_NUMBERS,
            "models/py_enriched.py": PY_ENRICHED,
            "models/py_incremental.py": PY_INCREMENTAL,
            "models/_models.yml": PY_INCREMENTAL_YML,
        },
    )


def _rows(spark, table: str) -> list[tuple]:
    return sorted(tuple(r) for r in spark.table(table).collect())


def test_python_model_reads_sql_model_through_map_in_pandas(project: Path, spark) -> None:
    run_dbt(["build", "--select", "stg_numbers", "py_enriched"], project)
    rows = spark.table("analytics.py_enriched").toPandas()
    assert len(rows) == 30
    expected = {i: ("low" if i <= 9 else "mid" if i <= 19 else "high") for i in range(30)}
    assert dict(zip(rows["id"], rows["band"])) == expected
    provider = spark.sql("describe table extended analytics.py_enriched").toPandas()
    assert "parquet" in provider.loc[provider["col_name"] == "Provider", "data_type"].str.lower().tolist()


def test_incremental_python_model_overwrites_only_its_partitions(project: Path, spark) -> None:
    run_dbt(["run", "--select", "stg_numbers", "py_incremental", "--full-refresh"], project)
    first = _rows(spark, "analytics.py_incremental")
    run_dbt(["run", "--select", "py_incremental"], project)
    second = _rows(spark, "analytics.py_incremental")
    assert first == second and len(first) == 30  # a rerun is a no-op, not a duplicate append

    partitions = sorted(r[0] for r in spark.sql("show partitions analytics.py_incremental").collect())
    assert partitions == ["dt=2026-01-01", "dt=2026-02-01", "dt=2026-03-01"]

    # Change the data, but let the model emit only February: only that partition is replaced.
    run_dbt(["run", "--select", "stg_numbers", "py_incremental", "--vars", json.dumps({"scale": 10, "only_dt": "2026-02-01"})], project)
    third = {r[0]: (r[1], r[2]) for r in _rows(spark, "analytics.py_incremental")}
    assert len(third) == 30
    for i, (doubled, dt) in third.items():
        assert doubled == (i * 20 if dt == "2026-02-01" else i * 2), (i, doubled, dt)


def test_python_model_under_thrift_fails_with_clear_message(project: Path, tmp_path: Path) -> None:
    with thrift_server(tmp_path / "thrift") as port:
        os.environ["SPARK_THRIFT_PORT"] = str(port)
        try:
            sql_only = run_dbt(["run", "--target", "thrift", "--select", "stg_numbers"], project)
            assert sql_only.success
            result = run_dbt(["run", "--target", "thrift", "--select", "py_enriched"], project, expect_success=False)
        finally:
            del os.environ["SPARK_THRIFT_PORT"]
    assert not result.success
    message = result.result.results[0].message
    assert "method: session" in message and "method: thrift" in message, message


@pytest.mark.slow
def test_cluster_target_runs_python_models_on_executors(project: Path, tmp_path: Path) -> None:
    """The same project on a real standalone master + worker, with ml shipped as pyFiles."""
    subprocess.run(["make", "-s", "cluster-package"], cwd=REPO, check=True)
    probe = project / "models" / "py_executor_probe.py"
    probe.write_text(
        "def probe(batches):\n"
        "    import ml\n"
        "    for pdf in batches:\n"
        "        pdf['ml_package'] = ml.__file__\n"
        "        yield pdf\n\n"
        "def model(dbt, spark):\n"
        "    dbt.config(materialized='table')\n"
        "    return dbt.ref('stg_numbers').mapInPandas(probe, 'id long, amount long, dt string, ml_package string')\n"
    )
    try:
        with standalone_cluster(tmp_path / "cluster") as master_url:
            env = {
                **os.environ,
                "SPARK_MASTER_URL": master_url,
                "RIDECREDIT_WAREHOUSE": str(tmp_path / "cluster_warehouse"),
                "RIDECREDIT_PYFILES": str(REPO / "dist" / "ridecredit_ml.zip"),
                "RIDECREDIT_DRIVER_MEMORY": "1g",
                "RIDECREDIT_EXECUTOR_MEMORY": "1g",
                "PYSPARK_PYTHON": sys.executable,
            }
            cmd = [str(Path(sys.executable).parent / "dbt"), "build", "--target", "cluster",
                   "--select", "stg_numbers", "py_enriched", "py_executor_probe",
                   "--project-dir", str(project), "--profiles-dir", str(PROFILES_DIR)]
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
            check = subprocess.run(
                [sys.executable, "-c", "from ml.spark_session import spark_session; "
                 "print(sorted({r[0] for r in spark_session().table('analytics.py_executor_probe').select('ml_package').collect()}))"],
                env={**env, "RIDECREDIT_SPARK_MASTER": "local[1]"}, capture_output=True, text=True, timeout=300,
            )
    finally:
        probe.unlink()
    assert "PASS=3" in done.stdout
    assert check.returncode == 0, check.stderr[-4000:]
    # Executors imported ml from the shipped zip, not from this checkout.
    assert "ridecredit_ml.zip" in check.stdout, check.stdout
    assert "app-" in (tmp_path / "cluster" / "master.log").read_text()  # an application ran on the master

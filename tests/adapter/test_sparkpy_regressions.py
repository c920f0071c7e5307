"""Regression tests for faults a new user met in the sparkpy plugin (issue 12).

Each test failed on the plugin before its fix: seed values with quotes, backslashes or
``${...}``, pandas-on-Spark model output, exceptions in model code and queries failing in
Spark (reported as compilation or unhandled errors), and the JVM's log noise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dbt.tests.util import relation_from_name, run_dbt

from .conftest import REPO

SEED_WITH_QUOTES_CSV = '''id,name,note
1,O'Brien,it's
2,back\\slash,C:\\new\\table
3,"say ""hi""",ends with a backslash\\
4,,no name
5,${env:HOME},${spark.sql.session.timeZone}
9007199254740993,big id,above 2**53
'''


class TestSeedValuesReadBackExactly:
    """dbt-spark's session cursor pasted string bindings into SQL unescaped."""

    @pytest.fixture(scope="class")
    @classmethod
    def seeds(cls) -> dict[str, str]:
        return {"people.csv": SEED_WITH_QUOTES_CSV}

    def test_quotes_backslashes_nulls_and_big_ids(self, project) -> None:
        assert len(run_dbt(["seed"])) == 1
        relation = relation_from_name(project.adapter, "people")
        rows = project.run_sql(f"select id, name, note from {relation} order by id", fetch="all")
        assert [tuple(row) for row in rows] == [
            (1, "O'Brien", "it's"),
            (2, "back\\slash", "C:\\new\\table"),
            (3, 'say "hi"', "ends with a backslash\\"),
            (4, None, "no name"),  # an empty cell is NULL, not the string 'None'
            (5, "${env:HOME}", "${spark.sql.session.timeZone}"),  # not Spark's variable substitution
            (9007199254740993, "big id", "above 2**53"),
        ]


PANDAS_ON_SPARK_MODEL = """
import pyspark.pandas as ps


def model(dbt, spark):
    dbt.config(materialized="table")
    frame = ps.DataFrame({"city": ["Puebla", "Toluca", "Leon"], "riders": [3, 1, 2]})
    return frame.sort_values("riders")
"""


class TestPandasOnSparkModel:
    """py_write_table rejected pyspark.pandas frames: "model() returned DataFrame"."""

    @pytest.fixture(scope="class")
    @classmethod
    def models(cls) -> dict[str, str]:
        return {"pandas_on_spark.py": PANDAS_ON_SPARK_MODEL}

    def test_pandas_on_spark_frame_is_written(self, project) -> None:
        assert len(run_dbt(["run"])) == 1
        relation = relation_from_name(project.adapter, "pandas_on_spark")
        rows = project.run_sql(f"select * from {relation} order by riders", fetch="all")
        assert [tuple(row) for row in rows] == [("Toluca", 1), ("Leon", 2), ("Puebla", 3)]  # no index column


# The leading blank line is deliberate: the reported line numbers must be the file's own.
FAILING_MODEL = """
def add_fee(amount):
    return amount + " MXN"


def model(dbt, spark):
    dbt.config(materialized="table")
    add_fee(3)
    return spark.range(1)
"""

WRONG_RETURN_MODEL = """
def model(dbt, spark):
    dbt.config(materialized="table")
    return [1, 2, 3]
"""


class TestModelErrorsAreHonest:
    """A TypeError in model code was a "Compilation Error" with no traceback and no line;
    a query failing in a Spark task was an "Unhandled error", as if dbt had crashed."""

    @pytest.fixture(scope="class")
    @classmethod
    def models(cls) -> dict[str, str]:
        return {
            "failing_model.py": FAILING_MODEL,
            "wrong_return.py": WRONG_RETURN_MODEL,
            "failing_query.sql": (
                "{{ config(materialized='table') }}\n"
                "select raise_error('no such rider') as x from range(1) as t (id)\n"
            ),
        }

    def _message(self, model: str) -> str:
        results = run_dbt(["run", "--select", model], expect_pass=False)
        assert len(results) == 1 and str(results[0].status) == "error"
        return results[0].message

    def test_exception_in_model_code_names_file_line_and_traceback(self, project) -> None:
        message = self._message("failing_model")
        assert "Compilation Error" not in message, message
        assert "Runtime Error" in message, message
        assert "raised TypeError at models/failing_model.py, line 3, in add_fee" in message, message
        assert "Traceback (most recent call last):" in message, message
        assert 'File "models/failing_model.py", line 8, in model' in message, message
        assert "    add_fee(3)" in message and 'return amount + " MXN"' in message, message

    def test_unsupported_return_type_is_a_runtime_error(self, project) -> None:
        message = self._message("wrong_return")
        assert "Compilation Error" not in message and "Runtime Error" in message, message
        assert "model() returned builtins.list" in message, message
        assert "dbt's materialization code for models/wrong_return.py" in message, message

    def test_query_failing_in_a_task_is_a_database_error(self, project) -> None:
        message = self._message("failing_query")
        assert message.startswith("Database Error in model failing_query"), message
        assert "[USER_RAISED_EXCEPTION] no such rider" in message, message


LOG_PROJECT = {
    "dbt_project.yml": (
        "name: log_noise\nversion: '0.1.0'\nconfig-version: 2\nprofile: ridecredit\n"
        "models:\n  log_noise:\n    +file_format: parquet\n    +materialized: table\n"
    ),
    # Benign: an existing database under `if not exists`, and a window over a whole (tiny) table.
    "models/ranked.sql": (
        "{{ config(pre_hook=['create schema if not exists log_noise_raw',"
        " 'create schema if not exists log_noise_raw']) }}\n"
        "select id, row_number() over (order by id) as rn from range(5) as t (id)\n"
    ),
    # Real: a task that fails on the executor.
    "models/broken.sql": "select raise_error(concat('real-failure-', cast(id as string))) as x from range(1) as t (id)\n",
}


class TestLogsQuietForBenignConditionsOnly:
    """`make demo` printed metastore stack traces for `create database if not exists`."""

    def test_dbt_run_output(self, tmp_path: Path) -> None:
        project = tmp_path / "project"
        for rel, text in LOG_PROJECT.items():
            (project / rel).parent.mkdir(parents=True, exist_ok=True)
            (project / rel).write_text(text)
        env = {
            **os.environ,
            # Its own JVM, so its own Derby metastore: Derby admits one process at a time.
            "RIDECREDIT_WAREHOUSE": str(tmp_path / "warehouse"),
            "RIDECREDIT_DRIVER_MEMORY": "1g",
            "DBT_LOG_PATH": str(tmp_path / "logs"),
            "DBT_TARGET_PATH": str(tmp_path / "target"),
        }
        env.pop("RIDECREDIT_LOG4J", None)  # the profile's default, relative to the repo, as `make demo` runs it
        dbt = Path(sys.executable).parent / "dbt"
        done = subprocess.run(
            [str(dbt), "run", "--project-dir", str(project), "--profiles-dir", str(REPO / "profiles")],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 1, output[-4000:]
        assert "PASS=1" in output and "ERROR=1" in output, output[-4000:]
        for benign in ("AlreadyExistsException", "created concurrently", "No Partition Defined"):
            at = output.find(benign)
            assert at < 0, f"{benign!r} printed:\n{output[max(0, at - 500):at + 1500]}"
        # The real failure is still logged by Spark, stack trace included, and reported by dbt.
        assert "ERROR Executor: Exception in task" in output, output[-4000:]
        assert "at org.apache.spark" in output, output[-4000:]
        assert "Database Error in model broken" in output and "real-failure-0" in output, output[-4000:]
        assert "Unhandled error" not in output, output[-4000:]

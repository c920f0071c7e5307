"""Shared fixtures: one real local Spark session and real dbt, run in this process.

The Derby metastore allows one process at a time and the JVM starts once per process,
so the warehouse is pinned to a temporary folder before anything starts Spark, and
every dbt invocation and assertion in the run shares that one session.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROFILES_DIR = REPO / "profiles"

_WAREHOUSE = Path(tempfile.mkdtemp(prefix="ridecredit-test-warehouse-"))
os.environ["RIDECREDIT_WAREHOUSE"] = str(_WAREHOUSE)
os.environ["RIDECREDIT_SHUFFLE_PARTITIONS"] = "2"
os.environ["RIDECREDIT_DRIVER_MEMORY"] = "3g"
os.environ["DBT_PROFILES_DIR"] = str(PROFILES_DIR)
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_WAREHOUSE, ignore_errors=True)


@pytest.fixture(scope="session")
def warehouse() -> Path:
    return _WAREHOUSE


@pytest.fixture(scope="session")
def spark(warehouse: Path):
    """The same SparkSession dbt's session method builds, from the `local` profile."""
    from ml.spark_session import spark_session

    return spark_session()


class DbtError(AssertionError):
    pass


def run_dbt(args: list[str], project_dir: Path = REPO, expect_success: bool = True):
    """Invoke real dbt in this process (sharing the test session's JVM) and return its result."""
    from dbt.cli.main import dbtRunner

    full_args = [*args, "--project-dir", str(project_dir), "--profiles-dir", str(PROFILES_DIR)]
    result = dbtRunner().invoke(full_args)
    if expect_success and not result.success:
        failures = []
        for node_result in getattr(result.result, "results", None) or []:
            if str(node_result.status) not in ("success", "pass", "PASS", "SUCCESS"):
                failures.append(f"{node_result.node.unique_id}: {node_result.status}: {node_result.message}")
        raise DbtError(f"dbt {' '.join(args)} failed: {result.exception or ''}\n" + "\n".join(failures))
    return result


def write_project(root: Path, name: str, files: dict[str, str]) -> Path:
    """A throw-away dbt project using the repo's profile and adapter; ``files`` maps path -> text."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(
        f"name: {name}\nversion: '0.1.0'\nconfig-version: 2\nprofile: ridecredit\n"
        f"models:\n  {name}:\n    +file_format: parquet\n"
    )
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture(scope="session")
def demo_build(warehouse: Path) -> dict:
    """The real project built once on a small generated population plus a hand-made user.

    Returns the landing path and the dbt results of the first build and of a rebuild.
    """
    import subprocess
    import sys

    import handmade_user

    landing = warehouse / "landing"
    subprocess.run(
        [sys.executable, "-m", "ml.synth", "--users", "400", "--months", "6", "--seed", "7", "--out", str(landing)],
        check=True, capture_output=True,
    )
    handmade_user.write_into(landing)
    os.environ["RIDECREDIT_LANDING"] = str(landing)
    run_dbt(["seed"])
    run_dbt(["run-operation", "register_raw_sources"])
    first = run_dbt(["build", "--exclude", "tag:scoring"])
    return {"landing": landing, "first": first}


TINY_PROFILE = REPO / "tests" / "python" / "tiny_profile.yaml"


@pytest.fixture(scope="session")
def tiny_model(demo_build, tmp_path_factory) -> Path:
    """A model version trained end to end (with ONNX export) on the test population by `python -m ml.train`."""
    from ml.train import main

    out = tmp_path_factory.mktemp("models")
    assert main(["--config", str(TINY_PROFILE), "--out", str(out)]) == 0
    return (out / "latest").resolve()

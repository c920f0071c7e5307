"""dbt Labs' reusable adapter suite (dbt-tests-adapter) against ``sparkpy`` with ``method: session``.

The suite's fixtures (``project``, ``models``, ``seeds``...) come from dbt's pytest plugin,
``dbt.tests.fixtures.project``. They are imported into this conftest rather than loaded with
``pytest_plugins``, so they exist only under ``tests/adapter`` and do not shadow the fixtures
of ``tests/python``. This folder is a package for the same reason: its conftest is imported
as ``adapter.conftest``, so ``from conftest import ...`` in ``tests/python`` still finds its own.

Spark runs in this process. The JVM and the Derby metastore are one per process, so the
warehouse is pinned to a temporary folder before anything starts Spark; when ``tests/python``
runs in the same process, whichever conftest is imported last pins it, and everything reads
``RIDECREDIT_WAREHOUSE`` lazily, so all tests share that one warehouse.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest
from dbt.tests.fixtures.project import *  # noqa: F401,F403 - the suite's fixtures, scoped to this folder

REPO = Path(__file__).resolve().parents[2]

_WAREHOUSE = Path(tempfile.mkdtemp(prefix="ridecredit-adapter-suite-"))
os.environ["RIDECREDIT_WAREHOUSE"] = str(_WAREHOUSE)  # never the project's .warehouse, which make exports
os.environ.setdefault("RIDECREDIT_SHUFFLE_PARTITIONS", "2")
os.environ.setdefault("RIDECREDIT_DRIVER_MEMORY", "3g")
# The suite chdirs into a temporary project; the profile's default log config path is relative.
os.environ.setdefault("RIDECREDIT_LOG4J", str(REPO / "profiles" / "log4j2.properties"))
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_WAREHOUSE, ignore_errors=True)


def sparkpy_session_target() -> dict[str, Any]:
    """The project's ``local`` target (type ``sparkpy``, ``method: session``), as the suite's profile.

    Taken from ``profiles/profiles.yml`` so the suite runs the adapter with the settings dbt
    runs the project with (parquet, dynamic partition overwrite, UTC, Arrow).
    """
    from ml.spark_session import load_target

    target = load_target("local")
    assert target["type"] == "sparkpy" and target["method"] == "session", target
    return target


@pytest.fixture(scope="class")
def dbt_profile_target() -> dict[str, Any]:
    """Read by the suite's ``dbt_profile_data``, which adds the class's unique schema."""
    return sparkpy_session_target()


@pytest.fixture(scope="class", autouse=True)
def _isolate_from_other_dbt_runs() -> Iterator[None]:
    """Let each class start from its own profile, whatever ran before in this process.

    A dbt invocation leaves its adapter registered, and the suite's ``adapter`` fixture keeps a
    registered one: after ``tests/python`` ran dbt with ``--target thrift``, the next class would
    connect to a Thrift server that is gone. The suite also deletes DBT_PROFILES_DIR and
    DBT_LOG_PATH after each class; put back what was there.
    """
    from dbt.adapters.factory import reset_adapters

    reset_adapters()
    saved = {name: os.environ.get(name) for name in ("DBT_PROFILES_DIR", "DBT_LOG_PATH")}
    yield
    for name, value in saved.items():
        if value is not None:
            os.environ[name] = value

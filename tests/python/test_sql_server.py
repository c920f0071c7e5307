"""`python -m ml.sql_server` (make sql-server): the shared metastore and the Thrift server, with real clients.

One module-scoped server on its own warehouse: an embedded (Derby) warehouse written by a separate
Spark process from the test session's feature and score tables, then served by the metastore
service and a Spark Thrift server started by the CLI, as a user starts them. PyHive and the wheel's
``beeline`` query it; dbt runs a score model through it (``--target thrift``) and, from another
process, through the shared metastore (``local`` target) while an analyst's query loop runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO, run_dbt
from spark_services import free_port

pytestmark = pytest.mark.slow
TABLES = {
    "features.user_month_features": None,
    "scores.user_month_scores": "dt",
    "scores.risk_scores": "dt",
    "scores.age_scores": "dt",
    "scores.income_scores": "dt",
}
EXAMPLES = REPO / "ml" / "sql_server" / "example_queries.sql"


def _cli(env: dict, *args: str, timeout: float = 420) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ml.sql_server", *args], cwd=REPO, env=env, text=True,
                          capture_output=True, timeout=timeout)


def _group_alive(pgid: int) -> bool:
    from ml.sql_server.server import _group_alive as alive

    return alive(pgid)


@pytest.fixture(scope="module")
def scores_in_session(tiny_model, spark) -> None:
    """The session's score tables (built by test_scoring when it ran first, else here)."""
    if not spark.catalog.tableExists("scores.risk_scores"):
        run_dbt(["build", "--select", "tag:scoring", "--vars", json.dumps({"model_dir": str(tiny_model)})])


@pytest.fixture(scope="module")
def server(scores_in_session, spark, tmp_path_factory):
    """An embedded warehouse holding copies of the session's tables, then served by `ml.sql_server start`."""
    root = tmp_path_factory.mktemp("sqlserver")
    warehouse, export = root / "warehouse", root / "export"
    for table in TABLES:
        spark.table(table).write.parquet(str(export / table))
    # another process writes the warehouse with the embedded metastore, as `make demo` leaves it
    register = textwrap.dedent(f"""
        import json
        from ml.spark_session import spark_session
        spark = spark_session()
        for table, part in {TABLES!r}.items():
            spark.sql(f"create database if not exists {{table.split('.')[0]}}")
            spark.sql(f"create table {{table}} using parquet "
                      + (f"partitioned by ({{part}}) " if part else "")
                      + f"as select * from parquet.`{export}/{{table}}`")
        spark.sql("create view features.user_month_features_v as select * from features.user_month_features")
        print(json.dumps(sorted(f"{{r.namespace}}.{{r.tableName}}" for db in ("features", "scores")
                                for r in spark.sql(f"show tables in {{db}}").collect())))
    """)
    env = dict(os.environ, RIDECREDIT_WAREHOUSE=str(warehouse), RIDECREDIT_SPARK_MASTER="local[1]",
               RIDECREDIT_DRIVER_MEMORY="1g")
    env.pop("RIDECREDIT_METASTORE_URIS", None)
    done = subprocess.run([sys.executable, "-c", register], cwd=REPO, env=env, text=True, capture_output=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    embedded_tables = json.loads(done.stdout.strip().splitlines()[-1])

    port, metastore_port = free_port(), free_port()
    env.update(SPARK_THRIFT_PORT=str(port), RIDECREDIT_METASTORE_PORT=str(metastore_port),
               RIDECREDIT_SQL_MASTER="local[2]", RIDECREDIT_SQL_MEMORY="1g")
    started = _cli(env, "start")
    run_dir = warehouse / "run"
    pgids = [int((run_dir / f"{name}.pid").read_text()) for name in ("metastore", "thrift")
             if (run_dir / f"{name}.pid").exists()]
    try:
        assert started.returncode == 0, started.stdout + started.stderr + "".join(
            (run_dir / f"{n}.log").read_text()[-3000:] for n in ("metastore", "thrift") if (run_dir / f"{n}.log").exists())
        yield {"env": env, "port": port, "uri": f"thrift://127.0.0.1:{metastore_port}", "warehouse": warehouse,
               "embedded_tables": embedded_tables, "start_output": started.stdout, "pgids": pgids, "root": root}
    finally:
        stopped = _cli(env, "stop", timeout=120)
        left = [pgid for pgid in pgids if _group_alive(pgid)]
        for pgid in left:  # never leave a JVM behind, even when stop is broken
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, 9)
        assert stopped.returncode == 0 and not left, (stopped.stdout, stopped.stderr, left)


def _cursor(server):
    from pyhive import hive

    return hive.connect(host="127.0.0.1", port=server["port"], username="analyst").cursor()


def _query(server, sql: str) -> list[tuple]:
    cursor = _cursor(server)
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def test_start_prints_how_to_connect_and_binds_loopback(server) -> None:
    out = server["start_output"]
    url = f"jdbc:hive2://127.0.0.1:{server['port']}/default"
    assert url in out and "bin/beeline -u " + url in out and "from pyhive import hive" in out, out
    assert f"export RIDECREDIT_METASTORE_URIS={server['uri']}" in out, out
    assert (server["warehouse"] / "run" / "metastore.uris").read_text().strip() == server["uri"]
    listening = subprocess.run(["ss", "-Hltn", f"sport = :{server['port']}"], capture_output=True, text=True).stdout
    local_addresses = [line.split()[3] for line in listening.splitlines()]
    assert local_addresses and all(a.removeprefix("[::ffff:").startswith("127.0.0.1") for a in local_addresses), listening


def test_moving_to_the_shared_metastore_keeps_every_table(server) -> None:
    served = sorted(f"{db}.{row[1]}" for db in ("features", "scores") for row in _query(server, f"show tables in {db}"))
    assert served == server["embedded_tables"] and "features.user_month_features_v" in served, served
    assert f"{len(served)} tables in" in server["start_output"], server["start_output"]


def test_pyhive_and_beeline_read_what_spark_reads(server, spark) -> None:
    # every row of the score table, and a fingerprint of the whole feature table
    expected = sorted(tuple(r) for r in spark.sql(
        "select user_id, dt, model_version, risk_prob, risk_points from scores.risk_scores").collect())
    got = sorted(_query(server, "select user_id, dt, model_version, risk_prob, risk_points from scores.risk_scores"))
    assert got == expected and len(got) > 100
    fingerprint = "select count(*) as n, sum(xxhash64(*)) as h from features.user_month_features"
    assert _query(server, fingerprint) == [tuple(spark.sql(fingerprint).collect()[0])]
    features = spark.sql("select user_id, dt, rides_30d from features.user_month_features").collect()
    assert sorted(_query(server, "select user_id, dt, rides_30d from features.user_month_features")) == sorted(
        tuple(r) for r in features)

    from ml.sql_server.server import spark_home

    beeline = subprocess.run(
        [str(spark_home() / "bin" / "beeline"), "-u", f"jdbc:hive2://127.0.0.1:{server['port']}/default",
         "-n", "analyst", "--silent=true", "--showHeader=false", "--outputformat=csv2",
         "-e", f"{fingerprint};", "-e",
         "select count(*), sum(xxhash64(user_id, dt, model_version, risk_prob, risk_points)) from scores.risk_scores;"],
        capture_output=True, text=True, timeout=180, cwd=server["root"])
    lines = [line for line in beeline.stdout.splitlines() if line and "jdbc:hive2" not in line]
    assert beeline.returncode == 0 and len(lines) == 2, beeline.stdout + beeline.stderr[-2000:]
    want_risk = spark.sql("select count(*), sum(xxhash64(user_id, dt, model_version, risk_prob, risk_points)) "
                          "from scores.risk_scores").collect()[0]
    assert lines == [",".join(map(str, spark.sql(fingerprint).collect()[0])), ",".join(map(str, want_risk))], lines


def test_the_readme_example_queries_run(server, spark) -> None:
    statements = [s for s in EXAMPLES.read_text().split(";") if "select" in s]
    assert len(statements) == 3
    by_month, deciles, history = (_query(server, sql) for sql in statements)
    months = [r[0] for r in spark.sql("select distinct dt from scores.risk_scores order by dt").collect()]
    assert [row[0] for row in by_month] == months
    assert sum(row[1] for row in by_month) == spark.table("scores.risk_scores").count()
    assert [row[0] for row in deciles] == [True, False] and all(0 < row[6] for row in deciles), deciles
    assert history and {row[0] for row in history} <= set(months), history


def _partition_folders(server, table: str) -> dict[str, str]:
    folders = {}
    for (part,) in _query(server, f"show partitions {table}"):
        spec = ", ".join(f"{k}='{v}'" for k, v in (p.split("=", 1) for p in part.split("/")))
        rows = _query(server, f"describe table extended {table} partition ({spec})")
        start = [r[0] for r in rows].index("# Detailed Partition Information")
        folders[part] = next(r[1] for r in rows[start:] if r[0] == "Location")
    return folders


def test_thrift_target_runs_the_score_model_through_the_server(server) -> None:
    os.environ["SPARK_THRIFT_PORT"] = str(server["port"])
    try:
        run_dbt(["run", "--target", "thrift", "--select", "risk_scores"])
    finally:
        del os.environ["SPARK_THRIFT_PORT"]
    diff = ("select count(*) from ((select user_id, dt, model_version, risk_prob, risk_points from scores.risk_scores) "
            "except all (select user_id, dt, model_version, risk_prob, risk_points from scores.user_month_scores))")
    assert _query(server, diff) == [(0,)]
    folders = _partition_folders(server, "scores.risk_scores")
    assert folders and all("/risk_scores__v" in path for path in folders.values()), folders


def test_dbt_rewrites_scores_while_an_analyst_queries(server, spark) -> None:
    """dbt (local target, another process, shared metastore) rewrites every month of risk_scores
    while a PyHive loop reads it: every answer is whole months of one version, none fails."""
    per_month = dict(_query(server, "select dt, count(*) from scores.user_month_scores group by dt"))
    old_version = _query(server, "select distinct model_version from scores.risk_scores")
    assert len(old_version) == 1
    new_version = old_version[0][0] + "-rerun"
    columns = [c for c in spark.table("scores.user_month_scores").columns if c != "dt"] + ["dt"]
    select = ", ".join(f"'{new_version}' as model_version" if c == "model_version" else c for c in columns)
    # a new model version upstream (Spark cannot overwrite a table it reads: through a copy)
    _query(server, f"create table scores.rerun using parquet as select {select} from scores.user_month_scores")
    _query(server, "insert overwrite table scores.user_month_scores partition (dt) select * from scores.rerun")
    _query(server, "drop table scores.rerun")
    seen: dict[str, int] = {}
    bad: list = []
    errors: list[str] = []
    stop = threading.Event()

    def analyst() -> None:
        cursor = _cursor(server)
        while not stop.is_set():
            try:
                cursor.execute("select dt, model_version, count(*) from scores.risk_scores group by dt, model_version")
                rows = cursor.fetchall()
            except Exception as exc:  # noqa: BLE001 - every failure is recorded and judged below
                errors.append(str(exc))
                continue
            months = {dt: (version, n) for dt, version, n in rows}
            if len(months) != len(rows) or {dt: n for dt, (_, n) in months.items()} != per_month:
                bad.append(rows)
            for _, (version, _) in months.items():
                seen[version] = seen.get(version, 0) + 1

    loop = threading.Thread(target=analyst, daemon=True)
    loop.start()
    env = dict(server["env"], RIDECREDIT_METASTORE_URIS=server["uri"], RIDECREDIT_SPARK_MASTER="local[1]",
               RIDECREDIT_DRIVER_MEMORY="1g")
    logs = server["root"] / "dbt"
    dbt = subprocess.run([str(Path(sys.executable).parent / "dbt"), "run", "--select", "risk_scores",
                          "--target", "local", "--target-path", str(logs / "target"), "--log-path", str(logs)],
                         cwd=REPO, env=env, text=True, capture_output=True, timeout=600)
    time.sleep(3)
    stop.set()
    loop.join(timeout=120)
    assert dbt.returncode == 0, dbt.stdout[-4000:]
    assert not errors, errors[:3]
    assert not bad, bad[:3]
    assert seen.get(old_version[0][0]) and seen.get(new_version), seen  # the loop overlapped the rewrite
    assert _query(server, "select distinct model_version from scores.risk_scores") == [(new_version,)]
    assert dict(_query(server, "select dt, count(*) from scores.risk_scores group by dt")) == per_month
    # the replaced folders of the previous run stay (readers may still be on them); older ones are gone
    versions = [row[1] for row in _query(server, "show tables in scores like 'risk_scores__v*'")]
    assert 1 <= len(versions) <= 2, versions
    assert all(Path(p.removeprefix("file:")).is_dir() for p in _partition_folders(server, "scores.risk_scores").values())

"""Scoring on a real multi-process Spark cluster equals scoring on the local target, row for row.

Run with `make test-cluster` (about 7 minutes on 2 cores; not part of `make test`). Everything
runs in child processes on its own warehouse, the way a data engineer would run it:

1. generate the 400-user test population, `dbt seed`, register, `dbt build` the features;
2. `python -m ml.train` a tiny model (with its ONNX export);
3. score with the `local` target and keep the scores;
4. start a standalone master and a worker with two single-core executors on 127.0.0.1 (from the
   pip wheel's `spark-class`), score again with the `cluster` target (`ml` shipped as a zip in
   `spark.submit.pyFiles`, the model read and verified by every executor's Python worker);
5. the two score tables are equal, and both executors ran scoring tasks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "python"))
from spark_services import standalone_cluster  # noqa: E402

pytestmark = pytest.mark.cluster
DBT = str(Path(sys.executable).parent / "dbt")


def _run(cmd: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        done = subprocess.run(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=1800)
    assert done.returncode == 0, f"{' '.join(cmd)} failed; last lines of {log}:\n" + log.read_text()[-4000:]


def _dump_scores(env: dict[str, str], out: Path, log: Path) -> pd.DataFrame:
    code = (
        "from ml.spark_session import spark_session; "
        "spark_session('local').table('scores.user_month_scores').toPandas()"
        f".sort_values(['user_id', 'dt']).to_parquet('{out}')"
    )
    _run([sys.executable, "-c", code], {**env, "DBT_TARGET": "local"}, log)
    return pd.read_parquet(out)


def test_cluster_scores_equal_local_scores(tmp_path: Path) -> None:
    warehouse, log = tmp_path / "warehouse", tmp_path / "run.log"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(REPO / "profiles"),
        "RIDECREDIT_WAREHOUSE": str(warehouse),
        "RIDECREDIT_LANDING": str(warehouse / "landing"),
        "RIDECREDIT_SHUFFLE_PARTITIONS": "4",
        "RIDECREDIT_DRIVER_MEMORY": "2g",
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "PYSPARK_PYTHON": sys.executable,
    }
    _run([sys.executable, "-m", "ml.synth", "--users", "400", "--months", "6", "--seed", "7", "--out", env["RIDECREDIT_LANDING"]], env, log)
    _run([DBT, "seed"], env, log)
    _run([DBT, "run-operation", "register_raw_sources"], env, log)
    _run([DBT, "build", "--exclude", "tag:scoring"], env, log)
    models = tmp_path / "models"
    _run([sys.executable, "-m", "ml.train", "--config", str(REPO / "tests/python/tiny_profile.yaml"), "--out", str(models)], env, log)
    variables = json.dumps({"model_dir": str((models / "latest").resolve())})
    _run([DBT, "run", "--select", "tag:scoring", "--vars", variables], env, log)
    local = _dump_scores(env, tmp_path / "local.parquet", log)

    _run(["make", "-s", "cluster-package"], env, log)
    with standalone_cluster(tmp_path / "cluster", worker_cores=2, worker_memory="3g") as master_url:
        cluster_env = {
            **env,
            "SPARK_MASTER_URL": master_url,
            "RIDECREDIT_PYFILES": str(REPO / "dist" / "ridecredit_ml.zip"),
            "RIDECREDIT_EXECUTOR_MEMORY": "1g",
            "RIDECREDIT_EXECUTOR_CORES": "1",
        }
        _run([DBT, "run", "--full-refresh", "--target", "cluster", "--select", "text_embedding_cache", "user_month_scores",
              "--vars", variables], cluster_env, log)
    cluster = _dump_scores(env, tmp_path / "cluster.parquet", log)

    assert len(local) == len(cluster) > 1000
    pd.testing.assert_frame_equal(local.reset_index(drop=True), cluster.reset_index(drop=True), check_exact=False, atol=1e-6)
    executor_logs = sorted((tmp_path / "cluster" / "work").glob("app-*/*/stderr"))
    scoring_executors = [p for p in executor_logs if "Finished task" in p.read_text()]
    assert len(scoring_executors) >= 2, executor_logs

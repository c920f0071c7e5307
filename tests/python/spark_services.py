"""Real Spark services for tests, started the way a user would: through pyspark's spark-class."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pyspark

SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"spark service exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.5)
    raise TimeoutError(f"port {port} not open after {timeout_s}s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def _service(args: list[str], port: int, log: Path) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        proc = subprocess.Popen([str(SPARK_CLASS), *args], stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        _wait_for_port(port, proc, log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def thrift_server(workdir: Path) -> Iterator[int]:
    """A Spark Thrift server with its own warehouse and Derby metastore; yields its port."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    hiveconf = {
        "hive.server2.thrift.port": str(port),
        "hive.server2.thrift.bind.host": "127.0.0.1",
        "spark.master": "local[1]",
        "spark.ui.enabled": "false",
        "spark.sql.warehouse.dir": str(workdir / "spark-warehouse"),
        "javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={workdir / 'metastore_db'};create=true",
    }
    args = ["org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"]
    for key, value in hiveconf.items():
        args += ["--hiveconf", f"{key}={value}"]
    with _service(args, port, workdir / "thrift.log"):
        yield port


@contextlib.contextmanager
def standalone_cluster(workdir: Path, worker_cores: int = 1, worker_memory: str = "1g") -> Iterator[str]:
    """A standalone master and one worker on loopback; yields the master URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    port, worker_port = free_port(), free_port()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    master = ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
              "--webui-port", str(free_port())]
    url = f"spark://127.0.0.1:{port}"
    worker = ["org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--port", str(worker_port),
              "--webui-port", str(free_port()), "--cores", str(worker_cores), "--memory", worker_memory,
              "--work-dir", str(workdir / "work")]
    with _service(master, port, workdir / "master.log"), _service(worker, worker_port, workdir / "worker.log"):
        yield url

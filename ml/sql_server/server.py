"""Serve the project's warehouse to SQL clients (beeline, PyHive, DBeaver, dbt's thrift target).

``start`` launches two JVMs from the pyspark wheel's ``bin/spark-class``:

1. the Hive metastore service (``org.apache.hadoop.hive.metastore.HiveMetaStore``, Hive 2.3.10,
   the version Spark's built-in Hive client speaks) on the warehouse's own Derby ``metastore_db``:
   the embedded metastore becomes a shared one with nothing copied, so no table can be lost;
2. a Spark Thrift server (``org.apache.spark.sql.hive.thriftserver.HiveThriftServer2``) on the
   same warehouse, a client of that metastore, bound to 127.0.0.1 unless told otherwise.

While they run, every other Spark process (dbt's ``local`` target, ``python -m ml.train``,
``python -m ml.query``, scoring) must reach the catalog through the service: export
``RIDECREDIT_METASTORE_URIS`` (``start`` prints the line; the Makefile does it by itself while
``$RIDECREDIT_WAREHOUSE/run/metastore.uris`` exists). ``stop`` ends both process groups and waits
until no JVM of theirs is left, after which the embedded default works again.

Settings: the Spark settings, the warehouse and the Derby URL come from the ``local`` target of
``profiles/profiles.yml``; the Thrift port is the ``thrift`` target's (``SPARK_THRIFT_PORT``,
default 10000). Environment overrides: ``RIDECREDIT_SQL_BIND_HOST`` (default 127.0.0.1),
``RIDECREDIT_METASTORE_PORT`` (default 9083), ``RIDECREDIT_SQL_MASTER`` (default ``local[2]``),
``RIDECREDIT_SQL_MEMORY`` (default 2g). Pid files and logs: ``$RIDECREDIT_WAREHOUSE/run/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOG4J = REPO_ROOT / "profiles" / "log4j2.properties"
METASTORE_CLASS = "org.apache.hadoop.hive.metastore.HiveMetaStore"
THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
# Every query re-reads the table's files and partitions from the metastore and the file system,
# so a table or partition that another process (dbt, scoring) rewrote is never served from a
# stale listing (see the README, "Read consistency").
THRIFT_FRESH_READS = {
    "spark.sql.filesourceTableRelationCacheSize": "0",
    "spark.sql.hive.filesourcePartitionFileCacheSize": "0",
}
# Settings of the local target that only make sense inside one embedded process.
_NOT_FOR_SERVERS = ("spark.driver.memory", "spark.driver.extraJavaOptions", "spark.master", "spark.app.name",
                    "spark.hadoop.javax.jdo.option.ConnectionURL", "spark.hadoop.hive.metastore.uris",
                    "spark.sql.execution.arrow.pyspark.enabled")


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def spark_class() -> Path:
    return spark_home() / "bin" / "spark-class"


@dataclass
class Settings:
    warehouse: Path
    bind_host: str
    port: int
    metastore_port: int
    master: str
    memory: str

    @property
    def run_dir(self) -> Path:
        return self.warehouse / "run"

    @property
    def metastore_uri(self) -> str:
        return f"thrift://127.0.0.1:{self.metastore_port}"

    @property
    def client_host(self) -> str:
        return "127.0.0.1" if self.bind_host in ("0.0.0.0", "") else self.bind_host

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:hive2://{self.client_host}:{self.port}/default"


def settings(args: argparse.Namespace | None = None) -> Settings:
    from ml.spark_session import load_target

    get = (lambda name: getattr(args, name, None)) if args else (lambda name: None)
    if get("warehouse"):
        os.environ["RIDECREDIT_WAREHOUSE"] = str(Path(get("warehouse")).resolve())
    if get("port"):
        os.environ["SPARK_THRIFT_PORT"] = str(get("port"))
    warehouse = Path(os.environ.get("RIDECREDIT_WAREHOUSE", REPO_ROOT / ".warehouse")).resolve()
    os.environ["RIDECREDIT_WAREHOUSE"] = str(warehouse)
    return Settings(
        warehouse=warehouse,
        bind_host=get("bind_host") or os.environ.get("RIDECREDIT_SQL_BIND_HOST", "127.0.0.1"),
        port=int(load_target("thrift")["port"]),
        metastore_port=int(get("metastore_port") or os.environ.get("RIDECREDIT_METASTORE_PORT", "9083")),
        master=get("master") or os.environ.get("RIDECREDIT_SQL_MASTER", "local[2]"),
        memory=os.environ.get("RIDECREDIT_SQL_MEMORY", "2g"),
    )


def _local_conf() -> dict[str, str]:
    """The local target's Spark settings, rendered with the embedded metastore (for the Derby URL)."""
    from ml.spark_session import spark_conf

    saved = os.environ.pop("RIDECREDIT_METASTORE_URIS", None)
    try:
        return spark_conf("local")
    finally:
        if saved is not None:
            os.environ["RIDECREDIT_METASTORE_URIS"] = saved


def _hiveconf_args(conf: dict[str, str]) -> list[str]:
    args: list[str] = []
    for key, value in conf.items():
        args += ["--hiveconf", f"{key}={value}"]
    return args


def metastore_command(s: Settings) -> list[str]:
    local = _local_conf()
    conf = {
        "javax.jdo.option.ConnectionURL": local["spark.hadoop.javax.jdo.option.ConnectionURL"],
        "hive.metastore.warehouse.dir": local["spark.sql.warehouse.dir"],
        # what Spark's embedded client does: create the schema in a new Derby database, and accept
        # the one Spark recorded (2.3.0) in an existing one
        "datanucleus.schema.autoCreateAll": "true",
        "hive.metastore.schema.verification": "false",
        # Hive's default log set-up wants the LMAX disruptor jar, which the wheel does not ship
        "hive.async.log.enabled": "false",
        "derby.system.home": str(s.warehouse),
    }
    return [str(spark_class()), METASTORE_CLASS, "-p", str(s.metastore_port), *_hiveconf_args(conf)]


def thrift_conf(s: Settings) -> dict[str, str]:
    conf = {k: v for k, v in _local_conf().items() if k not in _NOT_FOR_SERVERS}
    conf.update({
        "spark.master": s.master,
        "spark.app.name": "ridecredit-sql-server",
        "spark.ui.enabled": "false",
        "spark.hadoop.hive.metastore.uris": s.metastore_uri,
        "hive.metastore.uris": s.metastore_uri,
        "hive.server2.thrift.bind.host": s.bind_host,
        "hive.server2.thrift.port": str(s.port),
        "derby.system.home": str(s.warehouse),
        **THRIFT_FRESH_READS,
    })
    return conf


def thrift_command(s: Settings) -> list[str]:
    return [str(spark_class()), THRIFT_CLASS, *_hiveconf_args(thrift_conf(s))]


# --- processes -------------------------------------------------------------------------------

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie is not alive
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(") ", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def _pid_file(s: Settings, name: str) -> Path:
    return s.run_dir / f"{name}.pid"


def _read_pid(s: Settings, name: str) -> int | None:
    path = _pid_file(s, name)
    with contextlib.suppress(OSError, ValueError):
        pid = int(path.read_text().strip())
        if _group_alive(pid):
            return pid
    return None


def _launch(s: Settings, name: str, command: list[str]) -> subprocess.Popen:
    log = s.run_dir / f"{name}.log"
    env = dict(os.environ)
    env["LOG4J_CONFIGURATION_FILE"] = str(LOG4J)
    env.setdefault("SPARK_DRIVER_MEMORY", s.memory)
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.pop("RIDECREDIT_METASTORE_URIS", None)
    with log.open("w") as out:
        out.write("$ " + shlex.join(command) + "\n")
        out.flush()
        # its own session and process group: `stop` signals the group, launcher and JVM alike
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=s.run_dir, env=env, start_new_session=True)
    _pid_file(s, name).write_text(f"{proc.pid}\n")
    return proc


def _wait_port(s: Settings, name: str, proc: subprocess.Popen, host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    log = s.run_dir / f"{name}.log"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with status {proc.returncode} before opening port {port}; "
                               f"the end of {log}:\n{_tail(log)}")
        if _port_open(host, port):
            return
        time.sleep(0.5)
    raise TimeoutError(f"{name} did not open port {port} within {timeout_s:.0f} s; the end of {log}:\n{_tail(log)}")


def _tail(path: Path, chars: int = 4000) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-chars:]
    return ""


def _stop_group(pgid: int, timeout_s: float = 30) -> bool:
    """SIGTERM the process group, then SIGKILL what is left; True once no process of it remains."""
    for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pgid, os.WNOHANG)  # reap it when it is our child (tests)
            if not _group_alive(pgid):
                return True
            time.sleep(0.2)
    return not _group_alive(pgid)


def _derby_in_use(s: Settings) -> bool:
    """Whether an embedded process holds the warehouse's Derby database (its lock file is locked)."""
    import fcntl

    for lock in (s.warehouse / "metastore_db" / "dbex.lck", s.warehouse / "metastore_db" / "db.lck"):
        if not lock.exists():
            continue
        with lock.open("rb+") as handle:  # Derby holds a Java FileLock (fcntl) on dbex.lck while booted
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.lockf(handle, fcntl.LOCK_UN)
    return False


# --- commands --------------------------------------------------------------------------------

def connection_help(s: Settings) -> str:
    beeline = spark_home() / "bin" / "beeline"
    return "\n".join([
        f"JDBC URL:  {s.jdbc_url}",
        f"beeline:   {beeline} -u {s.jdbc_url} -n $USER -e 'show tables in scores'",
        "PyHive:",
        "    from pyhive import hive",
        f"    cursor = hive.connect(host={s.client_host!r}, port={s.port}, username='analyst').cursor()",
        "    cursor.execute('select dt, count(*) from scores.risk_scores group by dt order by dt')",
        "    print(cursor.fetchall())",
        f"dbt:       SPARK_THRIFT_PORT={s.port} dbt run --target thrift --exclude config.language:python",
        "other Spark processes while it runs (the Makefile does this by itself):",
        f"    export RIDECREDIT_METASTORE_URIS={s.metastore_uri}",
        "stop:      make sql-server-stop   (python -m ml.sql_server stop)",
    ])


def catalog_summary(s: Settings) -> dict[str, list[str]]:
    """Every schema and table the server sees, through a real client (PyHive)."""
    from pyhive import hive

    conn = hive.connect(host=s.client_host, port=s.port, username="ridecredit")
    try:
        cursor = conn.cursor()
        cursor.execute("show databases")
        schemas = sorted(row[0] for row in cursor.fetchall())
        tables = {}
        for schema in schemas:
            cursor.execute(f"show tables in `{schema}`")
            tables[schema] = sorted(row[1] for row in cursor.fetchall() if not row[2])
        return tables
    finally:
        conn.close()


def start(s: Settings, out=print) -> int:
    s.run_dir.mkdir(parents=True, exist_ok=True)
    running = _read_pid(s, "thrift"), _read_pid(s, "metastore")
    if all(running):
        out(f"already running (metastore pid {running[1]}, Thrift server pid {running[0]})")
        out(connection_help(s))
        return 0
    if any(running):
        out("a previous server was half running: stopping it first")
        stop(s, out=lambda *_: None)
    if _derby_in_use(s):
        out(f"error: another process holds the embedded metastore {s.warehouse / 'metastore_db'} "
            "(a dbt, ml.train or ml.query run on the local target): let it finish, then start again")
        return 1
    for name, port in (("metastore", s.metastore_port), ("Thrift server", s.port)):
        if _port_open("127.0.0.1", port):
            out(f"error: port {port} for the {name} is taken: choose another with "
                + ("RIDECREDIT_METASTORE_PORT" if name == "metastore" else "SPARK_THRIFT_PORT"))
            return 1
    started = time.monotonic()
    try:
        metastore = _launch(s, "metastore", metastore_command(s))
        _wait_port(s, "metastore", metastore, "127.0.0.1", s.metastore_port, 180)
        thrift = _launch(s, "thrift", thrift_command(s))
        _wait_port(s, "thrift", thrift, s.client_host, s.port, 300)
    except (RuntimeError, TimeoutError) as exc:
        stop(s, out=lambda *_: None)
        out(f"error: {exc}")
        return 1
    state = {"metastore_uri": s.metastore_uri, "jdbc_url": s.jdbc_url, "port": s.port,
             "metastore_port": s.metastore_port, "warehouse": str(s.warehouse),
             "pids": {"metastore": metastore.pid, "thrift": thrift.pid}}
    (s.run_dir / "state.json").write_text(json.dumps(state, indent=2) + "\n")
    (s.run_dir / "metastore.uris").write_text(s.metastore_uri + "\n")
    tables = catalog_summary(s)
    count = sum(len(names) for names in tables.values())
    out(f"SQL server up in {time.monotonic() - started:.0f} s on {s.warehouse}: "
        f"{count} tables in {len(tables)} schemas, metastore {s.metastore_uri} "
        f"(the warehouse's own metastore_db, nothing copied)")
    out(connection_help(s))
    return 0


def stop(s: Settings, out=print) -> int:
    status = 0
    for name in ("thrift", "metastore"):  # the client first, then the metastore it uses
        path = _pid_file(s, name)
        with contextlib.suppress(OSError, ValueError):
            pgid = int(path.read_text().strip())
            if _group_alive(pgid):
                if _stop_group(pgid):
                    out(f"stopped {name} (process group {pgid})")
                else:
                    out(f"error: {name} process group {pgid} is still alive after SIGKILL")
                    status = 1
                    continue
        path.unlink(missing_ok=True)
    for name in ("state.json", "metastore.uris"):
        (s.run_dir / name).unlink(missing_ok=True)
    if status == 0:
        out("SQL server stopped; the embedded metastore is free again")
    return status


def status(s: Settings, out=print) -> int:
    pids = {name: _read_pid(s, name) for name in ("metastore", "thrift")}
    if not all(pids.values()):
        out(f"not running on {s.warehouse}" + (f" (half running: {pids})" if any(pids.values()) else ""))
        return 1
    up = _port_open(s.client_host, s.port)
    out(f"running on {s.warehouse}: metastore pid {pids['metastore']} ({s.metastore_uri}), "
        f"Thrift server pid {pids['thrift']} ({'accepting connections' if up else 'starting'})")
    out(connection_help(s))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.sql_server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("start", "stop", "status"),
                        help="start the metastore service and the Thrift server, stop both, or report them")
    parser.add_argument("--warehouse", help="warehouse folder (default: $RIDECREDIT_WAREHOUSE or .warehouse)")
    parser.add_argument("--port", type=int, help="Thrift port (default: $SPARK_THRIFT_PORT or 10000)")
    parser.add_argument("--metastore-port", type=int, help="metastore port (default: $RIDECREDIT_METASTORE_PORT or 9083)")
    parser.add_argument("--bind-host", help="address the Thrift server listens on "
                        "(default: $RIDECREDIT_SQL_BIND_HOST or 127.0.0.1)")
    parser.add_argument("--master", help="Spark master of the Thrift server (default: $RIDECREDIT_SQL_MASTER or local[2])")
    args = parser.parse_args(argv)
    s = settings(args)
    return {"start": start, "stop": stop, "status": status}[args.command](s)


if __name__ == "__main__":
    sys.exit(main())

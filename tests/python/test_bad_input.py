"""Bad input never poisons the marts (issue 11), on the real project built on a generated landing
plus the crafted rows of `bad_input_corpus`.

The corpus build runs `python -m dbt.cli.main` in a subprocess with its own warehouse and
landing (Derby admits one process per warehouse, and the session's warehouse holds the normal
`demo_build`, which later tests still read). Its tables are read here straight from their
parquet folders with the session's Spark. The schema-drift tests then add one drifted file at
a time to that landing, rebuild the base model over it, check the message and that the tables
of the good build are intact, and remove the file again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import bad_input_corpus as corpus
from conftest import PROFILES_DIR, REPO, run_dbt, write_project

pytestmark = pytest.mark.slow

TABLES = ("users", "ride_orders", "delivery_orders", "outcomes")
BASE = {table: f"staging.db/base_platform__{table}" for table in TABLES}
MART_SCHEMAS = ("features", "labels", "monitoring", "preprocessing")


def _dbt(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    target = Path(env["RIDECREDIT_WAREHOUSE"]) / "target"
    proc = subprocess.run(
        [sys.executable, "-m", "dbt.cli.main", *args, "--project-dir", str(REPO), "--profiles-dir", str(PROFILES_DIR),
         "--target-path", str(target), "--log-path", str(target / "logs")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1500,
    )
    if check:
        assert proc.returncode == 0, f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def corpus_build(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("bad-input")
    warehouse, landing = root / "warehouse", root / "landing"
    subprocess.run(
        [sys.executable, "-m", "ml.synth", "--users", "200", "--months", "6", "--seed", "11", "--out", str(landing),
         "--no-progress"],
        check=True, capture_output=True,
    )
    corpus.write_into(landing)
    env = {
        **os.environ,
        "RIDECREDIT_WAREHOUSE": str(warehouse),
        "RIDECREDIT_LANDING": str(landing),
        "RIDECREDIT_LOG4J": str(PROFILES_DIR / "log4j2.properties"),
    }
    _dbt(env, "seed")
    _dbt(env, "run-operation", "register_raw_sources")
    build = _dbt(env, "build", "--exclude", "tag:scoring", check=False)
    return {"env": env, "warehouse": warehouse, "landing": landing, "build": build,
            "tables": warehouse / "spark-warehouse"}


def _read(spark, build: dict, folder: str):
    return spark.read.parquet(str(build["tables"] / folder))


def _raw_rows(landing: Path, table: str) -> int:
    partitioning = None if table == "users" else "hive"
    return ds.dataset(landing / "raw" / table, format="parquet", partitioning=partitioning).count_rows()


def _staged_key(table: str, row) -> str:
    if table == "users":
        return f"{row.user_id}|{row.app_version}"
    if table == "outcomes":
        return f"{row.user_id}|{row.dt}|{row.monthly_income}"
    amount = row.fare_mxn if table == "ride_orders" else row.amount_mxn
    return f"{row.order_id}|{amount if amount is not None else {'ride_orders': 100.0, 'delivery_orders': 120.0}[table]}"


def test_corpus_build_finishes_and_every_crafted_row_gets_its_fate(corpus_build, spark) -> None:
    build = corpus_build["build"]
    assert build.returncode == 0, build.stdout[-8000:]
    assert "ERROR=0" in build.stdout and "SKIP=0" in build.stdout

    crafted = corpus.crafted_keys()
    for table in TABLES:
        base = _read(spark, corpus_build, BASE[table])
        # raw = staged + rejected, counted from the landing files themselves (stray folders included)
        n_raw = _raw_rows(corpus_build["landing"], table)
        n_staged = base.where("reject_reason is null").count()
        n_rejected = base.where("reject_reason is not null").count()
        assert n_raw == n_staged + n_rejected, (table, n_raw, n_staged, n_rejected)

        ids = {key.split("|")[0] for key in crafted[table]}
        id_column = "user_id" if table in ("users", "outcomes") else "order_id"
        rows = {_staged_key(table, row): row for row in base.where(base[id_column].isin(list(ids))).collect()}
        assert len(rows) == len(crafted[table]), (table, sorted(rows), crafted[table])
        for key in crafted[table]:
            reason, values = corpus.EXPECTED[(table, key)]
            row = rows[key]
            assert row.reject_reason == reason, (table, key, row.reject_reason, reason)
            for column, value in values.items():
                assert row[column] == value, (table, key, column, row[column], value)


def test_corpus_marts_hold_no_nan_infinity_or_overlong_text(corpus_build, spark) -> None:
    from pyspark.sql.types import ArrayType, DoubleType, FloatType, StringType

    checked = 0
    for schema in MART_SCHEMAS:
        for folder in sorted((corpus_build["tables"] / f"{schema}.db").iterdir()):
            df = spark.read.parquet(str(folder))
            conditions = []
            for field in df.schema.fields:
                kind, name = field.dataType, field.name
                if isinstance(kind, (DoubleType, FloatType)):
                    conditions.append(f"not (abs({name}) < double('inf'))")
                elif isinstance(kind, ArrayType) and isinstance(kind.elementType, (DoubleType, FloatType)):
                    conditions.append(f"exists({name}, x -> not (abs(x) < double('inf')))")
                elif isinstance(kind, StringType):
                    conditions.append(f"length({name}) > {corpus.TEXT_BOUND}")
                elif isinstance(kind, ArrayType) and isinstance(kind.elementType, StringType):
                    conditions.append(f"exists({name}, x -> length(x) > {corpus.TEXT_BOUND})")
                elif isinstance(kind, ArrayType) and isinstance(kind.elementType, ArrayType):
                    conditions.append(f"exists(flatten({name}), x -> length(x) > {corpus.TEXT_BOUND})")
            if conditions:
                bad = df.where(" or ".join(conditions)).count()
                assert bad == 0, (schema, folder.name, bad)
                checked += 1
    assert checked >= 9
    # the crafted user's rows reached the marts, cleaned (not silently dropped)
    features = _read(spark, corpus_build, "features.db/user_month_features")
    assert features.where(f"user_id = '{corpus.OK_USER}'").count() == len(corpus.CALENDAR)
    labels = _read(spark, corpus_build, "labels.db/user_month_labels")
    assert labels.where(f"user_id = '{corpus.OK_USER}' and dt = '2026-03-01'").first().income_mxn == 9000.0
    texts = _read(spark, corpus_build, "features.db/field_texts").collect()
    invisible = [row.text_key for row in texts if row.text_key and any(ord(c) < 32 or ord(c) > 126 for c in row.text_key)]
    assert invisible == []
    from pyspark.sql import functions as F

    staged = _read(spark, corpus_build, BASE["ride_orders"]).where("reject_reason is null")
    columns = ("pickup_poi_name", "pickup_address", "dropoff_poi_name", "dropoff_address")
    invisible_text = F.lit(False)
    for column in columns:
        invisible_text = invisible_text | F.coalesce(F.col(column).rlike(corpus.INVISIBLE), F.lit(False))
    assert staged.where(invisible_text).count() == 0
    assert staged.where(F.col("order_id").startswith("bad-ride-ctrl")).count() == 1


def test_corpus_calendar_is_the_declared_window(corpus_build, spark) -> None:
    calendar = _read(spark, corpus_build, "intermediate.db/int_snapshot_calendar")
    assert sorted(row.dt for row in calendar.collect()) == corpus.CALENDAR
    # stray folders dt=2099-01-01 and dt=1999-12-01 landed, and changed nothing but the rejects
    assert {row.train_end_dt for row in calendar.collect()} == {"2026-04-01"}
    selection = _read(spark, corpus_build, "monitoring.db/feature_selection")
    assert selection.count() > 0


def test_too_short_a_calendar_stops_with_the_months_needed(corpus_build) -> None:
    env = corpus_build["env"]
    proc = _dbt(env, "build", "--select", "base_platform__users", "--vars",
                "{calendar_start_dt: '2026-01-01', calendar_end_dt: '2026-03-01'}", check=False)
    assert proc.returncode != 0
    assert "oot_months = 2 needs at least 4 months" in proc.stdout, proc.stdout[-4000:]


# ------------------------------------------------------------------ schema drift


def _drift_file(table: str, drop: str | None = None, retype: tuple[str, pa.DataType] | None = None,
                extra: str | None = None, invalid_utf8: str | None = None) -> pa.Table:
    spec = {"ride_orders": corpus.RIDE_ORDERS, "delivery_orders": corpus.DELIVERY_ORDERS}[table]
    row = corpus._ride("drift-ride-1") if table == "ride_orders" else corpus._delivery("drift-delivery-1")
    if invalid_utf8:
        row[invalid_utf8] = corpus.INVALID_UTF8
    data = corpus._table(spec, [row])
    if drop:
        data = data.drop_columns([drop])
    if retype:
        name, kind = retype
        data = data.set_column(data.schema.get_field_index(name), name, pa.array(["cien"], kind))
    if extra:
        data = data.append_column(extra, pa.array(["x"]))
    return data


DRIFT_CASES = {
    "missing_column": dict(table="ride_orders", drop="fare_mxn"),
    "wrong_type": dict(table="ride_orders", retype=("fare_mxn", pa.string())),
    "extra_column": dict(table="delivery_orders", extra="tip_mxn_text"),
    "invalid_utf8": dict(table="delivery_orders", invalid_utf8="store_name"),
}


@pytest.mark.parametrize("case", list(DRIFT_CASES))
def test_schema_drift(corpus_build, spark, case: str) -> None:
    assert corpus_build["build"].returncode == 0
    spec = dict(DRIFT_CASES[case])
    table = spec.pop("table")
    model = f"base_platform__{table}"
    before = {t: _read(spark, corpus_build, BASE[t]).count() for t in TABLES}
    downstream = _read(spark, corpus_build, "features.db/user_month_features").count()
    path = corpus_build["landing"] / "raw" / table / "dt=2026-03-01" / "part-drift.parquet"
    pq.write_table(_drift_file(table, **spec), path)
    n_raw_with_drift = _raw_rows(corpus_build["landing"], table)
    try:
        proc = _dbt(corpus_build["env"], "build", "--select", f"{model}+", "--exclude", "tag:scoring", check=False)
    finally:
        path.unlink()
    out = proc.stdout
    if case in ("missing_column", "wrong_type"):
        assert proc.returncode != 0
        assert str(path) in out and "fare_mxn" in out, out[-4000:]
        if case == "missing_column":
            assert "column fare_mxn is missing (expected double)" in out
        else:
            assert "column fare_mxn has type string, expected double" in out
        assert "no table was changed" in out
        # the previous good tables are intact: same rows, downstream untouched
        assert {t: _read(spark, corpus_build, BASE[t]).count() for t in TABLES} == before
        assert _read(spark, corpus_build, "features.db/user_month_features").count() == downstream
    elif case == "extra_column":
        assert proc.returncode == 0, out[-4000:]
        assert f"{path}: column tip_mxn_text (string) is not in the source contract and is ignored" in out
        rebuilt = _read(spark, corpus_build, BASE[table])
        assert rebuilt.count() == n_raw_with_drift
        assert rebuilt.where("order_id = 'drift-delivery-1' and reject_reason is null").count() == 1
    else:
        assert proc.returncode == 0, out[-4000:]
        rebuilt = _read(spark, corpus_build, BASE[table])
        assert rebuilt.count() == n_raw_with_drift
        assert [r.reject_reason for r in rebuilt.where("order_id = 'drift-delivery-1'").collect()] == ["invalid_utf8_text"]


CONFIG_TABLE = "{{ config(materialized='table') }}\n"


def test_failed_rebuild_keeps_the_last_good_table(tmp_path, spark, warehouse) -> None:
    """The project's table materialization: a query that fails mid-run leaves the old table as it was."""
    macros = (REPO / "macros" / "materializations" / "table.sql").read_text()
    project = write_project(tmp_path / "swap", "swap_check", {
        "macros/table_materialization.sql": macros,
        "models/swap_table.sql": CONFIG_TABLE + "select 1 as id, 'good' as version\n",
    })
    run_dbt(["run", "--select", "swap_table"], project_dir=project)
    (project / "models" / "swap_table.sql").write_text(
        CONFIG_TABLE + "select 2 as id, cast(raise_error('boom: failed mid-query') as string) as version\n"
    )
    result = run_dbt(["run", "--select", "swap_table"], project_dir=project, expect_success=False)
    assert not result.success
    assert "boom: failed mid-query" in str(result.result.results[0].message)
    rows = spark.sql("select id, version from analytics.swap_table").collect()
    assert [(r.id, r.version) for r in rows] == [(1, "good")]
    names = {r.tableName for r in spark.sql("show tables in analytics").collect()}
    assert "swap_table__dbt_old" not in names
    # and a good rebuild swaps the new rows in
    (project / "models" / "swap_table.sql").write_text(CONFIG_TABLE + "select 3 as id, 'new' as version\n")
    run_dbt(["run", "--select", "swap_table"], project_dir=project)
    rows = spark.sql("select id, version from analytics.swap_table").collect()
    assert [(r.id, r.version) for r in rows] == [(3, "new")]
    names = {r.tableName for r in spark.sql("show tables in analytics").collect()}
    assert not names & {"swap_table__dbt_new", "swap_table__dbt_old"}


# ------------------------------------------------------------------ generic tests

GENERIC_VALUES_SQL = """
select * from values
    (1, 10.0D, array(1.0D, 2.0D), array('ab', 'abc'), array(array('a'), array('abcd'))),
    (2, double('NaN'), array(1.0D), array('a'), array(array('a'))),
    (3, double('inf'), array(double('-inf')), array('abcdef'), array(array('a', 'abcdef'))),
    (4, null, array(cast(null as double)), array(cast(null as string)), array(array(cast(null as string))))
as t (id, amount, amounts, texts, baskets)
"""

GENERIC_YML = """
version: 2
models:
  - name: gt_values
    data_tests:
      - numeric_columns_finite:
          name: ncf_fails_nan_inf_and_array_inf   # ids 2 and 3
    columns:
      - name: amount
        data_tests:
          - accepted_range:
              name: ar_fails_nan_above_lower_bound   # NaN >= 0 is true in Spark; NaN and inf fail
              arguments: {min_value: 0}
          - accepted_range:
              name: ar_passes_finite_in_range
              arguments: {min_value: 0, max_value: 100}
              config: {where: "id in (1, 4)"}
      - name: texts
        data_tests:
          - array_elements_max_length:
              name: aeml_fails_one_long_element   # id 3
              arguments: {max_length: 3}
          - array_elements_max_length:
              name: aeml_passes_at_bound
              arguments: {max_length: 6}
      - name: baskets
        data_tests:
          - array_elements_max_length:
              name: aeml_nested_fails_two   # ids 1 and 3
              arguments: {max_length: 3, nested: true}
  - name: gt_clean
    data_tests:
      - numeric_columns_finite:
          name: ncf_passes_without_bad_rows
"""


def test_generic_tests_catch_nan_infinity_and_long_elements(tmp_path) -> None:
    files = {
        f"tests/generic/{name}.sql": (REPO / "tests" / "generic" / f"{name}.sql").read_text()
        for name in ("accepted_range", "numeric_columns_finite", "array_elements_max_length")
    }
    files["models/gt_values.sql"] = GENERIC_VALUES_SQL
    files["models/gt_clean.sql"] = "select * from {{ ref('gt_values') }} where id in (1, 4)\n"
    files["models/_models.yml"] = GENERIC_YML
    project = write_project(tmp_path / "generic", "generic_nan_check", files)
    run_dbt(["run"], project_dir=project)
    result = run_dbt(["test"], project_dir=project, expect_success=False)
    outcome = {r.node.name: (str(r.status), r.failures) for r in result.result.results}
    assert outcome == {
        "ncf_fails_nan_inf_and_array_inf": ("fail", 2),
        "ncf_passes_without_bad_rows": ("pass", 0),
        "ar_fails_nan_above_lower_bound": ("fail", 2),
        "ar_passes_finite_in_range": ("pass", 0),
        "aeml_fails_one_long_element": ("fail", 1),
        "aeml_passes_at_bound": ("pass", 0),
        "aeml_nested_fails_two": ("fail", 2),
    }, outcome

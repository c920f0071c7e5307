"""macros/geohash.sql: a pure Spark SQL geohash, checked value by value against pygeohash.

A throw-away dbt project carries a copy of the repo's macro (and nothing else from macros/,
so a half-edited neighbour cannot break this test), builds one table of geohashes at several
precisions over random points plus every awkward edge we know of, and each value must equal
``pygeohash.encode`` exactly; null, NaN and out-of-range coordinates must come back null.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pygeohash
import pytest

from conftest import REPO, run_dbt, write_project

PRECISIONS = (1, 5, 6, 7, 9, 12)
SOURCE_TABLE = "geohash_test_points"
MODEL = "geohash_test_encoded"
# precision comes from a var (default 6, valid) so that one project can show the compile error
BAD_PRECISION_MODEL = "geohash_test_precision_var"
BAD_PRECISION_SQL = "select {{ geohash('19.4326D', '-99.1332D', var('gh_precision', 6)) }} as gh\n"

MODEL_SQL = (
    "{{ config(materialized='table') }}\n\nselect\n    id,\n    lat,\n    lon,\n"
    + ",\n".join(f"    {{{{ geohash('lat', 'lon', {p}) }}}} as gh_{p}" for p in PRECISIONS)
    + f"\nfrom {{{{ source('raw', '{SOURCE_TABLE}') }}}}\n"
)

SOURCES_YML = f"""
version: 2
sources:
  - name: raw
    schema: analytics
    tables:
      - name: {SOURCE_TABLE}
"""


def _boundary_points(rng: np.random.Generator, n: int) -> list[tuple[float, float]]:
    """Points exactly on, and one ulp either side of, cell edges at bit depths 1..30 per axis."""
    points = []
    for _ in range(n):
        depth = int(rng.integers(1, 31))
        lat_edge = -90.0 + int(rng.integers(0, 2**depth + 1)) * (180.0 / 2**depth)
        lon_edge = -180.0 + int(rng.integers(0, 2**depth + 1)) * (360.0 / 2**depth)
        for lat in (lat_edge, np.nextafter(lat_edge, -np.inf), np.nextafter(lat_edge, np.inf)):
            points.append((float(lat), float(rng.uniform(-180, 180))))
        for lon in (lon_edge, np.nextafter(lon_edge, -np.inf), np.nextafter(lon_edge, np.inf)):
            points.append((float(rng.uniform(-90, 90)), float(lon)))
        points.append((lat_edge, lon_edge))
    return points


def _edge_points() -> list[tuple[float | None, float | None]]:
    tiny = 1e-12
    fixed = [
        (90.0, 180.0), (-90.0, -180.0), (90.0, -180.0), (-90.0, 180.0),  # corners
        (90.0, 0.0), (-90.0, 0.0), (0.0, 180.0), (0.0, -180.0),  # poles, antimeridian
        (0.0, 0.0), (-0.0, -0.0), (0.0, -0.0), (-0.0, 0.0),
        (45.0, -90.0), (-45.0, 90.0), (22.5, -135.0), (67.5, 45.0),  # edges at 1-3 bits
        (19.4326, -99.1332), (19.432608, -99.133209), (40.4168, -3.7038),  # CDMX, Madrid
        (-33.8688, 151.2093), (64.1466, -21.9426), (-54.8019, -68.3030),
        (45.0 + tiny, -90.0 - tiny), (45.0 - tiny, -90.0 + tiny),
        (90.0 - tiny, 180.0 - tiny), (-90.0 + tiny, -180.0 + tiny),
        (math.nextafter(90.0, 0.0), math.nextafter(180.0, 0.0)),
        (math.nextafter(-90.0, 0.0), math.nextafter(-180.0, 0.0)),
        (5e-324, -5e-324), (-5e-324, 5e-324),  # subnormals either side of the first midpoint
    ]
    # Lower-left corner of the cell of a real place, at every precision: an exact cell edge.
    for p in range(1, 13):
        box = pygeohash.get_bounding_box(pygeohash.encode(19.4326, -99.1332, p))
        fixed += [(box.min_lat, box.min_lon), (box.max_lat, box.max_lon)]
        fixed += [(math.nextafter(box.min_lat, -91), math.nextafter(box.min_lon, -181))]
    invalid = [
        (None, 0.0), (0.0, None), (None, None),
        (90.0000001, 0.0), (-90.0000001, 0.0), (91.0, 10.0), (-1000.0, 10.0),
        (0.0, 180.0000001), (0.0, -180.0000001), (0.0, 360.0), (0.0, -540.0),
        (math.nextafter(90.0, 91.0), 0.0), (0.0, math.nextafter(-180.0, -181.0)),
        (math.inf, 0.0), (0.0, -math.inf),
    ]
    return fixed + invalid


def _expected(lat, lon, precision: int) -> str | None:
    if lat is None or lon is None or math.isnan(lat) or math.isnan(lon):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    return pygeohash.encode(float(lat), float(lon), precision=precision)


@pytest.fixture(scope="module")
def n_points(spark) -> int:
    """Writes the points to the source table; returns how many rows it holds."""
    rng = np.random.default_rng(20240607)
    n = 20_000
    random_points = list(zip(rng.uniform(-90, 90, n).tolist(), rng.uniform(-180, 180, n).tolist()))
    # GPS-style values with few decimals land on cell edges far more often than uniform doubles.
    rounded = [(round(lat, d), round(lon, d)) for (lat, lon), d in
               zip(random_points[:2_000], rng.integers(0, 6, 2_000).tolist())]
    rows = random_points + rounded + _boundary_points(rng, 500) + _edge_points()
    pdf = pd.DataFrame(rows, columns=["lat", "lon"], dtype="float64")  # None -> NaN -> null in Spark
    pdf.insert(0, "id", np.arange(len(pdf), dtype="int64"))

    spark.sql("create database if not exists analytics")
    df = spark.createDataFrame(pdf)
    # NaN itself (not null) must also give null: append two rows Spark cannot get from pandas.
    nan_rows = spark.sql(
        f"select cast({len(pdf)} as bigint) as id, cast('NaN' as double) as lat, 0D as lon "
        f"union all select cast({len(pdf) + 1} as bigint), 0D, cast('NaN' as double)"
    )
    df.unionByName(nan_rows).write.mode("overwrite").saveAsTable(f"analytics.{SOURCE_TABLE}")

    stored = spark.table(f"analytics.{SOURCE_TABLE}")
    assert stored.where("isnan(lat) or isnan(lon)").count() == 2
    assert stored.where("lat is null or lon is null").count() == 3
    return stored.count()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(
        tmp_path_factory.mktemp("geohash_project"),
        "geohash_fx",
        {
            f"models/{MODEL}.sql": MODEL_SQL,
            f"models/{BAD_PRECISION_MODEL}.sql": BAD_PRECISION_SQL,
            "models/_sources.yml": SOURCES_YML,
        },
    )
    (root / "macros").mkdir()
    shutil.copy(REPO / "macros" / "geohash.sql", root / "macros" / "geohash.sql")
    return root


def test_geohash_matches_pygeohash_on_every_point(project: Path, n_points: int, spark) -> None:
    run_dbt(["run", "--select", MODEL], project)
    encoded = spark.table(f"analytics.{MODEL}").toPandas()
    assert len(encoded) == n_points > 25_000

    mismatches = []
    for row in encoded.itertuples(index=False):
        for p in PRECISIONS:
            got = getattr(row, f"gh_{p}")
            got = got if isinstance(got, str) else None
            want = _expected(row.lat, row.lon, p)  # null and NaN both arrive here as NaN
            if got != want:
                mismatches.append((row.id, repr(row.lat), repr(row.lon), p, got, want))
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:10]}"

    # The edge cases really are in there, with the documented answers.
    by_point = {(r.lat, r.lon): r for r in encoded.itertuples(index=False) if not pd.isna(r.lat)}
    assert by_point[(90.0, 180.0)].gh_12 == "zzzzzzzzzzzz"
    assert by_point[(-90.0, -180.0)].gh_12 == "000000000000"
    assert by_point[(0.0, 0.0)].gh_6 == "s00000"
    assert by_point[(45.0, -90.0)].gh_5 == "f0000"
    assert by_point[(19.4326, -99.1332)].gh_7 == pygeohash.encode(19.4326, -99.1332, 7) == "9g3w81t"
    assert by_point[(91.0, 10.0)].gh_1 is None and by_point[(0.0, 360.0)].gh_1 is None


def test_geohash_sql_is_pure_spark(project: Path) -> None:
    result = run_dbt(["compile", "--inline", "select {{ geohash('a.lat', 'a.lon', 3) }}"], project)
    sql = result.result.results[0].node.compiled_code.lower()
    assert sql.startswith("select concat(") and "floor(" in sql and "shiftright(" in sql
    assert "udf" not in sql and "python" not in sql and "->" not in sql  # no UDF, no lambdas


@pytest.mark.parametrize("precision", [0, 13, "6", None])
def test_geohash_rejects_bad_precision_at_compile_time(project: Path, precision) -> None:
    result = run_dbt(
        ["compile", "--select", BAD_PRECISION_MODEL, "--vars", json.dumps({"gh_precision": precision})],
        project,
        expect_success=False,
    )
    assert not result.success
    assert "precision must be a compile-time integer between 1 and 12" in str(result.exception), result.exception

"""ml.synth: determinism, the landing contract, planted dirt and the planted drift."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from ml.synth import AGE_BUCKET_EDGES, DRIFT, age_bucket, drift_dt
from ml.synth.__main__ import main as cli_main
from ml.synth.generate import RunConfig, generate, month_start
from ml.synth.places import CAT_INDEX, COLOCATED_TWINS, build_catalogue, build_text_pools, geohash_encode
from ml.synth.schema import TABLES

USERS, MONTHS, SEED, CHUNK = 400, 5, 11, 150  # 3 chunks, and the drift month (5th) is included
START = date(2026, 1, 1)


def _cfg(out: Path, seed: int = SEED, workers: int = 1) -> RunConfig:
    return RunConfig(users=USERS, months=MONTHS, seed=seed, start_month=START, out=out, chunk_users=CHUNK,
                     workers=workers)


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*.parquet"))


def _load(root: Path, rel: str) -> pd.DataFrame:
    df = ds.dataset(root / rel, format="parquet", partitioning="hive").to_table().to_pandas()
    if "dt" in df:
        df["dt"] = df["dt"].astype(str)
    return df


@pytest.fixture(scope="module")
def run_a(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("a")
    generate(_cfg(root), progress=False)
    return root


@pytest.fixture(scope="module")
def rides(run_a: Path) -> pd.DataFrame:
    return _load(run_a, "raw/ride_orders")


@pytest.fixture(scope="module")
def deliveries(run_a: Path) -> pd.DataFrame:
    return _load(run_a, "raw/delivery_orders")


# --- determinism ----------------------------------------------------------------


def test_same_seed_identical_tables_even_with_workers(run_a: Path, tmp_path: Path) -> None:
    b = tmp_path / "b"
    # a stale file from an older run must disappear (each table is overwritten)
    stale = b / "raw" / "ride_orders" / "dt=2020-01-01" / "part-00099.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"junk")
    generate(_cfg(b, workers=2), progress=False)
    assert _files(run_a) == _files(b)
    assert len(_files(run_a)) == 3 + 4 * MONTHS * 3  # users + 4 monthly tables x months x chunks
    for rel in _files(run_a):
        ta, tb = pq.read_table(run_a / rel), pq.read_table(b / rel)
        assert ta.num_rows > 0 or "outcomes" in str(rel)
        assert ta.equals(tb), rel


def test_different_seed_differs(run_a: Path, tmp_path: Path) -> None:
    generate(_cfg(tmp_path, seed=SEED + 1), progress=False)
    for spec in TABLES:
        rel = f"{spec.schema}/{spec.table}"
        a = ds.dataset(run_a / rel, partitioning="hive").to_table()
        b = ds.dataset(tmp_path / rel, partitioning="hive").to_table()
        assert not a.equals(b), rel


def test_cli_writes_same_as_api(run_a: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli_main(["--users", str(USERS), "--months", str(MONTHS), "--seed", str(SEED), "--start-month", "2026-01",
                   "--chunk-users", str(CHUNK), "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    assert "rows/s" in capsys.readouterr().out
    rel = Path("raw/users/part-00001.parquet")
    assert pq.read_table(run_a / rel).equals(pq.read_table(tmp_path / rel))


# --- contract -------------------------------------------------------------------


def test_layout_and_schemas(run_a: Path) -> None:
    dts = [f"dt={month_start(START, m).isoformat()}" for m in range(MONTHS)]
    assert dts[-1] == "dt=2026-05-01"
    for spec in TABLES:
        d = run_a / spec.schema / spec.table
        if spec.partitioned:
            assert sorted(p.name for p in d.iterdir()) == dts, spec.key
            parts = sorted(d.glob("dt=*/part-*.parquet"))
            assert len(parts) == MONTHS * 3
        else:
            parts = sorted(d.glob("part-*.parquet"))
            assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
        for p in parts:
            schema = pq.read_schema(p)
            assert "dt" not in schema.names
            assert schema.equals(spec.arrow, check_metadata=False), (p, schema)


def test_users_and_labels_semantics(run_a: Path) -> None:
    users = _load(run_a, "raw/users")
    assert len(users) == USERS and users["user_id"].is_unique
    assert users["user_id"].iloc[0] == "u00000001" and users["user_id"].str.fullmatch(r"u\d{8}").all()
    truth = _load(run_a, "raw_oracle/truth")
    assert len(truth) == USERS * MONTHS and not truth.duplicated(["user_id", "dt"]).any()
    assert truth["default_prob"].between(0, 1).all() and set(truth["age_bucket"]) <= {0, 1, 2, 3}
    assert truth["persona"].nunique() == 9 and (truth["income_mxn"] > 0).all()
    out = _load(run_a, "raw/outcomes")
    assert not out.duplicated(["user_id", "dt"]).any()
    assert set(out["overdue_flag"].dropna().unique()) == {0, 1}
    assert set(out["income_source"].dropna().unique()) == {"declared", "verified"}
    assert out[["overdue_flag", "age", "monthly_income"]].notna().any(axis=1).all()  # no empty rows
    for col in ("overdue_flag", "age", "monthly_income"):
        assert 0 < out[col].isna().mean() < 1, col  # not every user has every label
    # reported ages agree with the oracle's age bucket
    j = out.dropna(subset=["age"]).merge(truth, on=["user_id", "dt"])
    assert (age_bucket(j["age"].to_numpy()) == j["age_bucket"].to_numpy()).all()
    assert AGE_BUCKET_EDGES == (25, 35, 50)
    # the truth really drives the flag
    k = out.dropna(subset=["overdue_flag"]).merge(truth, on=["user_id", "dt"])
    assert k.loc[k.overdue_flag == 1, "default_prob"].mean() > k.loc[k.overdue_flag == 0, "default_prob"].mean() + 0.05
    # the observable probability integrates z_hidden out: same mean, less spread, ranks below the truth
    assert truth["default_prob_observable"].between(0, 1).all()
    assert abs(truth["default_prob_observable"].mean() - truth["default_prob"].mean()) < 0.01
    assert truth["default_prob_observable"].std() < truth["default_prob"].std()
    assert roc_auc_score(k.overdue_flag, k.default_prob_observable) < roc_auc_score(k.overdue_flag, k.default_prob)


def test_observable_default_prob_matches_monte_carlo() -> None:
    from ml.synth.personas import RISK_COEF_HIDDEN, RISK_MONTH_SIGMA, UserLatents, _sigmoid, observable_default_prob

    rng = np.random.default_rng(0)
    z_hidden = np.array([-1.0, 0.0, 2.0])
    risk_logit = np.array([-3.0, -1.0, 0.5])
    lat = UserLatents.__new__(UserLatents)  # only the two fields the function reads
    lat.risk_logit, lat.z_hidden = risk_logit, z_hidden
    draws = rng.standard_normal((200_000, 1)) * RISK_COEF_HIDDEN + rng.standard_normal((200_000, 1)) * RISK_MONTH_SIGMA
    monte_carlo = _sigmoid(risk_logit - RISK_COEF_HIDDEN * z_hidden + draws).mean(axis=0)
    np.testing.assert_allclose(observable_default_prob(lat), monte_carlo, atol=2e-3)


def test_orders_semantics(rides: pd.DataFrame, deliveries: pd.DataFrame) -> None:
    for df in (rides, deliveries):
        ts = df["order_ts"].dropna()
        dt = df.loc[ts.index, "dt"]
        # dt is the month on the city's clock; order_ts is UTC, 5 to 8 hours later.
        utc_month = ts.dt.strftime("%Y-%m-01")
        local_month = (ts - pd.Timedelta(hours=8)).dt.strftime("%Y-%m-01")
        inside = ((utc_month == dt) | (local_month == dt)).mean()
        assert 0.995 < inside < 1.0  # orders fall in their dt month, apart from planted dirt
        per_user_month = df.drop_duplicates("order_id").groupby(["user_id", "dt"]).size()
        assert 3 <= per_user_month.mean() <= 20
    assert set(rides["status"]) == {"completed", "cancelled", "no_show", "in_progress"}
    assert set(deliveries["status"]) == {"completed", "cancelled", "refunded", "in_progress"}
    ok = rides["pickup_lat"].between(14, 33) & rides["pickup_lon"].between(-118, -86)
    assert ok.mean() > 0.99
    assert rides["fare_mxn"].median() > 50 and rides["distance_km"].median() > 1
    assert rides["pickup_poi_name"].str.contains("Casa de Empeño|Monte de Piedad|Empeñ", regex=True).any()
    titles = deliveries["item_titles"].dropna().explode()
    assert titles.str.contains("Pañales").any() and titles.str.contains("Losartán").any()


# --- dirt -----------------------------------------------------------------------


def test_dirt_is_present(run_a: Path, rides: pd.DataFrame, deliveries: pd.DataFrame) -> None:
    for df in (rides, deliveries):
        dup = df[df.duplicated("order_id", keep=False)]
        assert len(dup) > 0
        assert (dup["status"] == "in_progress").any()  # duplicate with a later status
        assert dup.duplicated(["order_id", "status", "user_id", "order_ts"]).any()  # exact duplicates
        assert df["order_ts"].isna().sum() > 0
        ts = df["order_ts"].dropna()
        assert (ts.dt.strftime("%Y-%m-01") != df.loc[ts.index, "dt"]).sum() > 0
        # order_ids follow time within a chunk-month; clock skew breaks that order somewhere
        part = df[(df["dt"] == "2026-02-01") & df["order_id"].str[5:10].eq("00000")].sort_values("order_id")
        assert (part["order_ts"].dropna().diff().dt.total_seconds() < 0).any()
    lat, lon = rides["pickup_lat"], rides["pickup_lon"]
    assert (lat == 999).any() and ((lat == 0) & (lon == 0)).any() and (lat < -80).any()  # swapped
    assert lat.isna().any() and rides["fare_mxn"].isna().any() and rides["pickup_poi_name"].isna().any()
    assert deliveries["amount_mxn"].isna().any() and deliveries["store_name"].isna().any()
    assert deliveries["delivery_address"].str.len().max() > 500
    assert deliveries["item_titles"].dropna().explode().str.len().max() > 500
    assert deliveries["item_titles"].isna().any()
    names = pd.concat([rides["pickup_poi_name"], rides["dropoff_poi_name"], deliveries["store_name"]]).dropna()
    assert names.str.contains(r"[\U0001F300-\U0001FAFF]", regex=True).any()  # emoji
    assert names.str.contains("Hosp. Gral.", regex=False).any()
    assert names.str.contains("AEROPUERTO INTL", regex=False).any()
    users = _load(run_a, "raw/users")
    active = set(rides["user_id"]) | set(deliveries["user_id"])
    assert (~users["user_id"].isin(active)).sum() >= 5  # users with no orders at all
    assert users["device_os"].nunique() > 2 and users["city"].nunique() > 9


def test_colocated_pois_share_geohash7() -> None:
    cat = build_catalogue(SEED, build_text_pools(SEED))
    gh = geohash_encode(cat.lat, cat.lon, 7)
    for risky, twin_cats in COLOCATED_TWINS.items():
        if risky == "hospital":
            continue
        twin_ids = np.isin(cat.cat, [CAT_INDEX[c] for c in twin_cats])
        benign_cells = set(gh[twin_ids])
        ids = np.flatnonzero(cat.cat == CAT_INDEX[risky])
        assert all(gh[i] in benign_cells for i in ids), risky
    hosp = np.flatnonzero(cat.cat == CAT_INDEX["hospital"])
    mall_cells = set(gh[cat.cat == CAT_INDEX["mall"]])
    assert 0.2 < np.mean([gh[i] in mall_cells for i in hosp]) < 0.8


def test_geohash_matches_reference() -> None:
    pygeohash = pytest.importorskip("pygeohash")
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-89, 89, 300), rng.uniform(-179, 179, 300)
    ours = geohash_encode(lat, lon, 7)
    assert list(ours) == [pygeohash.encode(a, b, 7) for a, b in zip(lat, lon, strict=True)]
    assert geohash_encode(np.array([999.0]), np.array([999.0]))[0] is None


# --- drift ----------------------------------------------------------------------


def test_drift_visible_only_where_declared(rides: pd.DataFrame, deliveries: pd.DataFrame) -> None:
    assert DRIFT["table"] == "delivery_orders" and DRIFT["column"] == "amount_mxn"
    assert DRIFT["dt"] == drift_dt(START) == "2026-05-01"
    med = deliveries.groupby("dt")["amount_mxn"].median()
    others = med.drop(DRIFT["dt"])
    assert med[DRIFT["dt"]] < 0.75 * others.min()
    assert others.max() / others.min() < 1.12
    for col in ("fare_mxn", "distance_km"):
        m = rides[rides["status"] == "completed"].groupby("dt")[col].median()
        assert m.max() / m.min() < 1.12, col
    assert drift_dt(date(2025, 10, 1)) == "2026-02-01"


def test_cli_help() -> None:
    from ml.synth.__main__ import build_parser

    text = build_parser().format_help()
    for flag in ("--users", "--months", "--seed", "--start-month", "--out", "--chunk-users"):
        assert flag in text
    assert datetime.strptime("2026-01", "%Y-%m")  # the documented format parses
    assert pa.__version__

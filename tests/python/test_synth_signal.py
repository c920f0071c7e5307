"""Both signal sources exist in the synthetic data, and neither alone is enough.

Generates a few thousand users x 6 months, builds per-user features with
pandas straight from the landing parquet (deduplicating and cleaning the dirt
the way a staging model would), and fits on the ``overdue_flag`` label with a
holdout of users:

* text-only: TF-IDF (words) over POI names, store names and SKU titles -> logistic regression
* stats-only: numeric aggregates (counts, fares, amounts, night/cash/cancel
  shares, distinct places, hours, volatility) -> logistic regression
* combined: both feature blocks in one logistic regression

The oracle AUC (true ``default_prob`` from raw_oracle.truth vs the drawn
flag) is the ceiling.  Run as a script to print the AUCs for several seeds:
``python tests/python/test_synth_signal.py --seeds 1 2 3``.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from ml.synth.generate import RunConfig, generate

USERS, MONTHS, SEED = 5000, 6, 7
#: Extra AUC the combined model must gain over the better single source.
COMBINED_MARGIN = 0.015
HOLDOUT_SHARE = 0.3


def _load(root: Path, rel: str) -> pd.DataFrame:
    df = ds.dataset(root / rel, format="parquet", partitioning="hive").to_table().to_pandas()
    df["dt"] = df["dt"].astype(str)
    return df


def _clean_orders(df: pd.DataFrame) -> pd.DataFrame:
    """Dedup order_id (prefer the final status), normalise payment, derive hour flags."""
    df = df[df["status"] != "in_progress"].drop_duplicates("order_id", keep="last").copy()
    h = df["order_ts"].dt.hour
    df["hour"] = h
    df["night"] = np.where(h.isna(), np.nan, ((h >= 22) | (h < 5)).astype(float))
    pm = df["payment_method"].str.lower().str.strip()
    df["cash"] = np.where(pm.isna(), np.nan, pm.isin(["cash", "efectivo"]).astype(float))
    df["cancel"] = (df["status"] == "cancelled").astype(float)
    return df


def build_features(root: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Per-user stats, per-user text documents, and labelled user-months with the oracle."""
    rides = _clean_orders(_load(root, "raw/ride_orders"))
    dels = _clean_orders(_load(root, "raw/delivery_orders"))
    ok = rides["dropoff_lat"].between(14, 33) & rides["dropoff_lon"].between(-118, -86)
    rides["cell"] = np.where(ok, rides["dropoff_lat"].round(3).astype(str) + rides["dropoff_lon"].round(3).astype(str),
                             None)
    dels["n_items"] = dels["item_titles"].map(lambda x: 0 if x is None else len(x))

    monthly = (rides.groupby(["user_id", "dt"]).size().rename("m_r").to_frame()
               .join(dels.groupby(["user_id", "dt"])["amount_mxn"].sum().rename("m_amt"), how="outer").fillna(0))
    stats = rides.groupby("user_id").agg(
        n_r=("order_id", "size"), fare_mean=("fare_mxn", "mean"), fare_std=("fare_mxn", "std"),
        fare_sum=("fare_mxn", "sum"), dist_mean=("distance_km", "mean"), night_r=("night", "mean"),
        cash_r=("cash", "mean"), cancel_r=("cancel", "mean"), hour_r=("hour", "mean"), hour_sd_r=("hour", "std"),
        n_cells=("cell", "nunique"),
    ).join(dels.groupby("user_id").agg(
        n_d=("order_id", "size"), amt_mean=("amount_mxn", "mean"), amt_std=("amount_mxn", "std"),
        amt_sum=("amount_mxn", "sum"), night_d=("night", "mean"), cash_d=("cash", "mean"),
        cancel_d=("cancel", "mean"), items=("n_items", "mean"), hour_d=("hour", "mean"),
    ), how="outer").join(monthly.groupby("user_id").agg(
        rides_month_sd=("m_r", "std"), amt_month_sd=("m_amt", "std"), months_active=("m_r", "size"),
    ), how="outer")

    items = dels["item_titles"].map(lambda x: " ".join(x) if x is not None else "")
    text = pd.concat([
        rides[["user_id", "pickup_poi_name"]].set_axis(["user_id", "t"], axis=1),
        rides[["user_id", "dropoff_poi_name"]].set_axis(["user_id", "t"], axis=1),
        dels[["user_id", "store_name"]].set_axis(["user_id", "t"], axis=1),
        pd.DataFrame({"user_id": dels["user_id"], "t": items}),
    ])
    docs = text.assign(t=text["t"].fillna("")).groupby("user_id")["t"].agg(" ".join)  # users with orders only

    out = _load(root, "raw/outcomes")
    truth = _load(root, "raw_oracle/truth")
    lab = out[out["overdue_flag"].notna()][["user_id", "dt", "overdue_flag"]]
    lab = lab.merge(truth[["user_id", "dt", "default_prob"]], on=["user_id", "dt"], how="left")
    return stats, lab, docs


def signal_aucs(root: Path) -> dict[str, float]:
    """Fit text-only / stats-only / combined models; AUCs on held-out users."""
    stats, lab, docs = build_features(root)
    lab = lab.join(stats, on="user_id")
    y = lab["overdue_flag"].to_numpy().astype(int)
    bucket = pd.util.hash_array(lab["user_id"].to_numpy().astype(object)) % 1000
    test = bucket < HOLDOUT_SHARE * 1000

    # one document per user (unsupervised vocabulary, no labels involved), rows picked per label
    vec = TfidfVectorizer(min_df=3, strip_accents="unicode", sublinear_tf=True, dtype=np.float32)
    T_user = sparse.vstack([vec.fit_transform(docs.to_numpy()), sparse.csr_matrix((1, len(vec.vocabulary_)))]).tocsr()
    row = pd.Series(np.arange(len(docs)), index=docs.index).reindex(lab["user_id"]).fillna(len(docs))
    T = T_user[row.to_numpy().astype(np.int64)]

    X = lab[stats.columns].copy()
    for c in ("n_r", "n_d", "fare_sum", "amt_sum", "n_cells", "months_active"):
        X[c] = X[c].fillna(0)
    X = np.sign(X) * np.log1p(X.abs())
    med = X[~test].median()
    S = StandardScaler().fit(X[~test].fillna(med)).transform(X.fillna(med))

    def fit_auc(M: np.ndarray | sparse.csr_matrix, C: float) -> float:
        m = LogisticRegression(C=C, max_iter=3000).fit(M[~test], y[~test])
        return float(roc_auc_score(y[test], m.predict_proba(M[test])[:, 1]))

    return {
        "text": fit_auc(T, 0.3),
        "stats": fit_auc(S, 1.0),
        "combined": fit_auc(sparse.hstack([T, sparse.csr_matrix(S)]).tocsr(), 0.3),
        "oracle": float(roc_auc_score(y[test], lab["default_prob"].to_numpy()[test])),
        "n_train": int((~test).sum()), "n_test": int(test.sum()), "pos_rate": float(y.mean()),
    }


@pytest.fixture(scope="module")
def aucs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    root = tmp_path_factory.mktemp("synth_signal")
    generate(RunConfig(users=USERS, months=MONTHS, seed=SEED, start_month=date(2026, 1, 1), out=root),
             progress=False)
    return signal_aucs(root)


def test_signal_sources(aucs: dict[str, float], capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print(f"\n[synth signal seed={SEED}] " + ", ".join(
            f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in aucs.items()))
    assert aucs["text"] > 0.55, aucs
    assert aucs["stats"] > 0.55, aucs
    assert aucs["combined"] > max(aucs["text"], aucs["stats"]) + COMBINED_MARGIN, aucs
    assert aucs["oracle"] > aucs["combined"], aucs


if __name__ == "__main__":
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[SEED])
    ap.add_argument("--users", type=int, default=USERS)
    a = ap.parse_args()
    for s in a.seeds:
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            generate(RunConfig(users=a.users, months=MONTHS, seed=s, out=Path(d)), progress=False)
            res = signal_aucs(Path(d))
            print(f"seed={s} users={a.users} " + " ".join(
                f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in res.items())
                + f" ({time.perf_counter() - t0:.0f}s)", flush=True)

"""PSI in SQL against an independent numpy computation, and the planted drift is caught."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.synth.dirt import DRIFT

pytestmark = pytest.mark.slow

EPSILON = 1e-4  # var psi_epsilon
N_BINS = 10  # var psi_bins


def numpy_psi(base: np.ndarray, current: np.ndarray) -> float:
    """Deciles of the base's non-null values as right-closed bin edges; nulls a bin of their own."""
    edges = np.unique(np.percentile(base[~np.isnan(base)], np.arange(1, N_BINS) * 100 / N_BINS))

    def shares(values: np.ndarray) -> dict[int, float]:
        bins = np.where(np.isnan(values), -1, np.searchsorted(edges, values, side="left"))
        labels, counts = np.unique(bins, return_counts=True)
        return dict(zip(labels.tolist(), (counts / len(values)).tolist()))

    p_base, p_cur = shares(base), shares(current)
    psi = 0.0
    for b in set(p_base) | set(p_cur):
        pb, pc = max(p_base.get(b, 0.0), EPSILON), max(p_cur.get(b, 0.0), EPSILON)
        psi += (pc - pb) * np.log(pc / pb)
    return psi


def test_sql_psi_equals_numpy(demo_build, spark) -> None:
    sql_psi = spark.table("monitoring.feature_psi").toPandas()
    features = spark.table("features.user_month_features").toPandas()
    base_dt = sql_psi["base_dt"].iloc[0]
    assert sql_psi["feature_name"].nunique() >= 30
    checked = 0
    for row in sql_psi.itertuples():
        values = pd.to_numeric(features[row.feature_name], errors="coerce").astype(float)
        base = values[features["dt"] == base_dt].to_numpy()
        current = values[features["dt"] == row.dt].to_numpy()
        assert row.psi == pytest.approx(numpy_psi(base, current), abs=1e-9), (row.feature_name, row.dt)
        checked += 1
    assert checked == len(sql_psi) and checked > 100
    bands = {"stable": (0, 0.1), "watch": (0.1, 0.25), "unstable": (0.25, np.inf)}
    for row in sql_psi.itertuples():
        low, high = bands[row.psi_band]
        assert low <= row.psi <= high or (row.psi_band == "stable" and row.psi < 0.1)


def test_planted_drift_is_flagged_and_nothing_else_in_its_family(demo_build, spark) -> None:
    # The promo lowers delivery amounts in DRIFT['dt']; snapshots see it one month later.
    drift_month = pd.Timestamp(str(DRIFT["dt"]))
    seen_at = (drift_month + pd.DateOffset(months=1)).strftime("%Y-%m-%d")
    psi = spark.table("monitoring.feature_psi").toPandas().set_index(["feature_name", "dt"])
    flagged = psi.loc[("delivery_avg_amount_30d", seen_at)]
    assert flagged["psi_band"] == "unstable", flagged
    others = psi.xs("delivery_avg_amount_30d", level="feature_name").drop(index=seen_at)
    assert (others["psi_band"] != "unstable").all(), others
    # Ride fares were not touched by the promo.
    assert psi.loc[("ride_spend_30d", seen_at), "psi_band"] != "unstable"

    selection = spark.table("monitoring.feature_selection").toPandas().set_index("feature_name")
    assert selection.loc["delivery_avg_amount_30d", "worst_dt"] == seen_at
    assert selection.loc["delivery_avg_amount_30d", "worst_psi_band"] == "unstable"


def test_selection_keeps_exactly_the_stable_features_that_vary_after_preprocessing(demo_build, spark) -> None:
    """Preprocess the training rows as training will; a selected feature must still carry signal."""
    features = spark.table("features.user_month_features").toPandas()
    training = features[features["is_train"]]
    params = spark.table("preprocessing.numeric_feature_params").toPandas().set_index("feature_name")
    selection = spark.table("monitoring.feature_selection").toPandas().set_index("feature_name")
    threshold = 0.25  # var psi_selection_threshold

    constant = []
    for name, p in params.iterrows():
        values = pd.to_numeric(training[name], errors="coerce").astype(float)
        preprocessed = values.fillna(p["fill_value"]).clip(p["clip_low"], p["clip_high"])
        # the order-independent aggregates (macros/exact_aggregates.sql) against pandas
        observed = values.dropna()
        if len(observed):
            assert p["fill_value"] == pytest.approx(observed.mean(), rel=1e-9, abs=1e-9), name
            assert p["std_value"] == pytest.approx(observed.std(ddof=0), rel=1e-6, abs=1e-6), name
        varies = preprocessed.nunique() > 1
        stable = selection.loc[name, "max_psi_train"] <= threshold
        assert selection.loc[name, "is_selected"] == (varies and stable), name
        assert selection.loc[name, "is_constant_after_clip"] == (not varies), name
        if not varies:
            constant.append(name)
        if stable and not varies:
            assert selection.loc[name, "drop_reason"] == "constant_after_clip", name
    # The demo population has features that are mostly zero (few users share a home cell):
    # the clip flattens them, and selection must flag them rather than hand the model a constant.
    assert constant, "expected at least one feature that the p10/p90 clip flattens"

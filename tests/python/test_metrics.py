"""The bootstrap's metrics from draw counts equal scikit-learn and scipy on the materialised resamples."""

from __future__ import annotations

import numpy as np
import pytest

from ml import metrics


@pytest.fixture(scope="module")
def population() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 600
    risk = (rng.random(n) < 0.2).astype(np.float64)
    age = rng.integers(0, 4, n)
    income = np.round(rng.normal(size=n), 1)  # rounded: ties, as the clipped income label has
    return {
        "risk": risk,
        "risk_score": np.round(0.3 * risk + rng.random(n), 2),  # rounded: tied scores
        "age": age,
        "age_pred": np.where(rng.random(n) < 0.5, age, rng.integers(0, 4, n)),
        "income": income,
        "income_pred": np.round(income + rng.normal(size=n), 1),
    }


def _resamples(n: int, samples: int, seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Counts and the same resamples as index arrays."""
    counts = metrics.bootstrap_counts(n, samples, seed)
    indices = [np.repeat(np.arange(n), row.astype(int)) for row in counts]
    return counts, indices


def test_bootstrap_counts_are_resamples_of_n() -> None:
    counts = metrics.bootstrap_counts(500, 40, seed=3)
    assert counts.shape == (40, 500)
    assert (counts.sum(1) == 500).all()
    assert 0.55 < (counts > 0).mean() < 0.71  # 1 - 1/e of users drawn at least once
    np.testing.assert_array_equal(counts, metrics.bootstrap_counts(500, 40, seed=3))


@pytest.mark.parametrize(
    ("name", "truth", "prediction", "oracle"),
    [
        ("auc", "risk", "risk_score", metrics.auc),
        ("macro_f1", "age", "age_pred", metrics.macro_f1),
        ("spearman", "income", "income_pred", metrics.spearman),
    ],
)
def test_weighted_metric_equals_the_library_on_each_resample(population, name, truth, prediction, oracle) -> None:
    y, p = population[truth], population[prediction]
    counts, indices = _resamples(len(y), 25, seed=11)
    weighted = metrics.BOOTSTRAPPED[name][1](y, p, counts)
    expected = [oracle(y[idx], p[idx]) for idx in indices]
    np.testing.assert_allclose(weighted, expected, rtol=0, atol=1e-12)
    assert np.std(weighted) > 1e-3  # the resamples differ, so the check above is not of one number


def test_paired_bootstrap_separates_a_better_model_and_not_an_equal_one(population) -> None:
    y = population["risk"]
    better = population["risk_score"] + 0.4 * y
    vs_worse = metrics.paired_bootstrap("auc", y, better, population["risk_score"], samples=300, seed=1)
    assert vs_worse["difference"] > 0 and vs_worse["excludes_zero"]
    assert vs_worse["ci95_low"] < vs_worse["difference"] < vs_worse["ci95_high"]
    vs_itself = metrics.paired_bootstrap("auc", y, better, better, samples=300, seed=1)
    assert vs_itself["difference"] == 0 and not vs_itself["excludes_zero"]


def test_resamples_without_a_defaulter_are_left_out_of_the_interval() -> None:
    """Six users, one defaulter: about a third of the resamples draw none and have no AUC."""
    import warnings

    y = np.array([1.0, 0, 0, 0, 0, 0])
    a = np.array([0.9, 0.1, 0.2, 0.3, 0.4, 0.5])
    b = np.array([0.3, 0.1, 0.2, 0.8, 0.4, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero on the way
        result = metrics.paired_bootstrap("auc", y, a, b, 400, 0)
    drawn = np.concatenate([metrics.bootstrap_counts(6, 100, first) for first in range(0, 400, 100)])  # its chunks
    undefined = (drawn[:, 0] == 0).sum()
    assert 0 < undefined < 400 and result["samples"] == 400 - undefined
    assert np.isfinite([result["ci95_low"], result["ci95_high"]]).all()
    assert result["difference"] == pytest.approx(1.0 - 0.4)  # a ranks the defaulter first, b above 2 of 5
    assert result["ci95_low"] <= result["difference"] <= result["ci95_high"]

"""Platt scaling of the risk logit: it recovers a known miscalibration, and the head applies what was fitted."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.model.calibration import calibrated, calibration_summary, fit_platt
from ml.model.credit_model import CreditModel
from test_credit_model import CONFIG, DIMS, _population


def _miscalibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from sigmoid(z); the model's logit is (z - 0.5) / 1.2: too low and too flat."""
    rng = np.random.default_rng(seed)
    z = rng.normal(-1.5, 1.0, n)
    label = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.float64)
    return (z - 0.5) / 1.2, label


def test_platt_scaling_recovers_a_known_miscalibration() -> None:
    logit, label = _miscalibrated(200_000, seed=0)
    slope, intercept = fit_platt(logit, label)
    assert slope == pytest.approx(1.2, abs=0.03) and intercept == pytest.approx(0.5, abs=0.03)
    summary = calibration_summary(logit, label, slope, intercept)
    assert summary["mean_predicted_raw"] < summary["observed_rate"] - 0.02  # the raw logit under-predicts
    assert summary["mean_predicted"] == pytest.approx(summary["observed_rate"], abs=1e-4)
    assert summary["log_loss"] < summary["log_loss_raw"]


def test_users_without_a_risk_label_are_skipped_and_one_outcome_is_an_error() -> None:
    logit, label = _miscalibrated(20_000, seed=1)
    with_gaps = label.copy()
    with_gaps[::3] = np.nan
    slope, intercept = fit_platt(logit, with_gaps)
    has = ~np.isnan(with_gaps)
    # the maximum-likelihood fit with an intercept matches the labelled users' mean exactly
    assert calibrated(logit[has], slope, intercept).mean() == pytest.approx(with_gaps[has].mean(), abs=1e-6)
    with pytest.raises(ValueError, match=r"both outcomes .* values \[0\.0\]"):
        fit_platt(logit, np.where(has, 0.0, np.nan))


def test_the_head_applies_its_calibration_and_training_never_sees_it() -> None:
    from ml.model.fit import predict

    torch.manual_seed(0)
    model = CreditModel(CONFIG, DIMS, text_dim=None)
    inputs, _ = _population(64, seed=3)
    before = predict(model, inputs, None)
    assert np.allclose(before.risk_prob, 1 / (1 + np.exp(-before.risk_logit)))  # identity until set
    model.set_risk_calibration(1.3, 0.4)
    after = predict(model, inputs, None)
    np.testing.assert_array_equal(after.risk_logit, before.risk_logit)  # forward, and so the losses, ignore it
    np.testing.assert_allclose(after.risk_prob, calibrated(before.risk_logit, 1.3, 0.4), rtol=1e-5)
    logit = torch.from_numpy(before.risk_logit)
    np.testing.assert_allclose(model.risk_probability(logit).numpy(), after.risk_prob, rtol=1e-5)
    reloaded = CreditModel(CONFIG, DIMS, text_dim=None)
    reloaded.load_state_dict(model.state_dict())  # saved with the head's weights, so the export carries it
    assert reloaded.risk_calibration.tolist() == pytest.approx([1.3, 0.4])

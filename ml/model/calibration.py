"""Risk calibration: Platt scaling of the risk logit, fitted on the validation month.

Why a credit model needs it. The student ranks borrowers as well as its teacher, but its raw
probabilities came out too low: on the demo warehouse its mean predicted probability was 0.156
on the test month against an observed overdue rate of 0.175, and 0.160 against 0.178 on its own
training months. The teacher-side model it starts from read 0.176 on the test month (the
no-text model 0.168), so the shift comes with the student's fine-tuning; torch, the fp32 and the
int8 graphs agree to 0.0001, so it is not the export; nor is it dropout (the mean of eight
passes with dropout on is 0.1546 against 0.1541 without). It need not be the same at another
size or seed, so each model fits its own. A lender prices and sets limits on the probability
and reads the points from it, so the model must be corrected: ``sigmoid(slope * logit
+ intercept)``, two numbers fitted by logistic regression of the validation month's labels on its
logits (Platt 1999). The validation month is out of time for every weight (it only chose the
epoch), and a monotone map leaves AUC, KS and every ranking as they were.

The two numbers live in the head (``CreditModel.risk_calibration``), so the ONNX graph, the
parity gate and the score tables all read the calibrated probability.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

IDENTITY = (1.0, 0.0)  # slope, intercept: the raw probability


def fit_platt(logit: np.ndarray, label: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of ``P(overdue) = sigmoid(slope * logit + intercept)``, by maximum likelihood.

    ``label`` NaN means no risk label (the user took no credit that month); those rows are
    skipped. With fewer than two classes there is nothing to fit, which is an error: a
    validation month without both outcomes cannot calibrate a credit model.
    """
    has = ~np.isnan(label)
    y = label[has]
    if len(np.unique(y)) < 2:
        raise ValueError(
            f"risk calibration needs both outcomes in the validation month's risk labels; got {len(y)} labels, "
            f"values {sorted(np.unique(y).tolist())}"
        )
    # the intercept is not penalised (lbfgs), so the fitted month's mean stays its overdue rate exactly; the slope's
    # tiny ridge only keeps a month whose logits separate the outcomes (a handful of labels) finite
    fitted = LogisticRegression(C=1e3, tol=1e-10, max_iter=1000).fit(logit[has].reshape(-1, 1), y)
    return float(fitted.coef_[0, 0]), float(fitted.intercept_[0])


def calibrated(logit: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """The calibrated probability, as the head computes it."""
    return 1.0 / (1.0 + np.exp(-(slope * logit + intercept)))


def calibration_summary(logit: np.ndarray, label: np.ndarray, slope: float, intercept: float) -> dict[str, float]:
    """Mean predicted against observed, and log-loss, before and after: what the report and README quote."""
    from sklearn.metrics import log_loss

    has = ~np.isnan(label)
    y, z = label[has], logit[has]
    raw, fixed = calibrated(z, *IDENTITY), calibrated(z, slope, intercept)
    return {
        "users": int(has.sum()),
        "observed_rate": float(y.mean()),
        "mean_predicted_raw": float(raw.mean()),
        "mean_predicted": float(fixed.mean()),
        "log_loss_raw": float(log_loss(y, raw, labels=[0, 1])),
        "log_loss": float(log_loss(y, fixed, labels=[0, 1])),
    }

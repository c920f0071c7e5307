"""Credit metrics as plain functions of arrays, and the paired bootstrap that compares models.

Every figure in ``metrics.json`` and the report comes from these functions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score, roc_curve


def auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    return float(roc_auc_score(y_true, y_score))


def ks(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Kolmogorov-Smirnov: the largest gap between the score CDFs of bads and goods (max TPR - FPR)."""
    fpr, tpr, _ = roc_curve(y_true, y_score)
    return float(np.max(tpr - fpr))


def gini(y_true: np.ndarray, y_score: np.ndarray) -> float:
    return 2.0 * auc(y_true, y_score) - 1.0


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(accuracy_score(y_true, y_pred))


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(f1_score(y_true, y_pred, average="macro", labels=[0, 1, 2, 3], zero_division=0))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred))))


def spearman(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(spearmanr(y_true, y_pred).statistic)


def risk_metrics(y_true: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    return {"auc": auc(y_true, prob), "ks": ks(y_true, prob), "gini": gini(y_true, prob)}


def age_metrics(y_true: np.ndarray, bucket: np.ndarray) -> dict[str, float]:
    return {"accuracy": accuracy(y_true, bucket), "macro_f1": macro_f1(y_true, bucket)}


def income_metrics(income_mxn_true: np.ndarray, income_mxn_pred: np.ndarray) -> dict[str, float]:
    return {"mae_mxn": mae(income_mxn_true, income_mxn_pred), "spearman": spearman(income_mxn_true, income_mxn_pred)}


def paired_bootstrap(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y_true: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    samples: int,
    seed: int,
) -> dict[str, float | bool]:
    """metric(a) - metric(b) on the same users, with a 95% percentile interval over resamples.

    Both models are scored on the same resampled users each time, so the interval reflects
    the difference, not the (larger) noise of either figure alone.
    """
    y_true, pred_a, pred_b = map(np.asarray, (y_true, pred_a, pred_b))
    rng = np.random.default_rng(seed)
    n = len(y_true)
    diffs = np.empty(samples)
    for i in range(samples):
        idx = rng.integers(0, n, n)
        diffs[i] = metric(y_true[idx], pred_a[idx]) - metric(y_true[idx], pred_b[idx])
    low, high = np.percentile(diffs, [2.5, 97.5])
    return {
        "difference": metric(y_true, pred_a) - metric(y_true, pred_b),
        "ci95_low": float(low),
        "ci95_high": float(high),
        "excludes_zero": bool(low > 0 or high < 0),
        "samples": samples,
        "users": n,
    }

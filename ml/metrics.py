"""Credit metrics as plain functions of arrays, and the paired bootstrap that compares models.

Every figure in ``metrics.json`` and the report comes from these functions.
"""

from __future__ import annotations

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


def bootstrap_counts(n: int, samples: int, seed: int) -> np.ndarray:
    """(samples, n) how often each of n users is drawn in each resample of n with replacement."""
    draws = np.random.default_rng(seed).integers(0, n, (samples, n))
    offsets = (np.arange(samples) * n)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=samples * n).reshape(samples, n).astype(np.float64)


def _tie_groups(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort order of ``values`` and the start of each run of equal values in it."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    return order, np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])


def weighted_auc(y_true: np.ndarray, score: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """ROC AUC of each resample (a row of ``counts``): Mann-Whitney, ties counted half."""
    order, starts = _tie_groups(score)
    positive = y_true[order] == 1
    w = counts[:, order]
    pos = np.add.reduceat(w * positive, starts, axis=1)  # (samples, groups)
    neg = np.add.reduceat(w * ~positive, starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg  # negatives scored strictly lower than each group
    pairs = pos.sum(1) * neg.sum(1)
    return np.divide((pos * (below + 0.5 * neg)).sum(1), pairs, out=np.full(len(pairs), np.nan), where=pairs > 0)  # NaN: one class drawn


def weighted_macro_f1(y_true: np.ndarray, y_pred: np.ndarray, counts: np.ndarray, classes: int = 4) -> np.ndarray:
    """Macro-F1 over ``classes`` of each resample (as ``macro_f1``: a class never seen nor predicted scores 0)."""
    cell = np.eye(classes * classes)[y_true * classes + y_pred]  # (n, classes^2) one-hot of (true, pred)
    confusion = (counts @ cell).reshape(-1, classes, classes)  # (samples, true, pred)
    tp = np.diagonal(confusion, axis1=1, axis2=2)
    denominator = confusion.sum(2) + confusion.sum(1)  # 2 TP + FN + FP
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    return f1.mean(1)


def _weighted_ranks(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each user's average rank among the resample's copies (what scipy gives tied copies)."""
    order, starts = _tie_groups(values)
    size = np.add.reduceat(counts[:, order], starts, axis=1)  # copies in each tie group
    group_rank = np.cumsum(size, axis=1) - size + (size + 1) / 2
    group_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(values)]))
    ranks = np.empty_like(counts)
    ranks[:, order] = group_rank[:, group_of]
    return ranks


def weighted_spearman(y_true: np.ndarray, y_pred: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Spearman correlation of each resample: Pearson of the copies' average ranks."""
    a, b = _weighted_ranks(y_true, counts), _weighted_ranks(y_pred, counts)
    total = counts.sum(1, keepdims=True)
    a = a - (counts * a).sum(1, keepdims=True) / total
    b = b - (counts * b).sum(1, keepdims=True) / total
    spread = np.sqrt((counts * a * a).sum(1) * (counts * b * b).sum(1))
    return np.divide((counts * a * b).sum(1), spread, out=np.full(len(spread), np.nan), where=spread > 0)  # NaN: a constant resample


BOOTSTRAPPED = {"auc": (auc, weighted_auc), "macro_f1": (macro_f1, weighted_macro_f1), "spearman": (spearman, weighted_spearman)}


def paired_bootstrap(
    metric: str, y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, samples: int, seed: int, chunk: int = 100
) -> dict[str, float | bool]:
    """metric(a) - metric(b) on the same users, with a 95% percentile interval over resamples.

    Both models are scored on the same resampled users each time, so the interval reflects
    the difference, not the (larger) noise of either figure alone. A resample is a row of
    draw counts, and each metric is computed for many rows at once from the counts (sorting
    the users once), instead of once per materialised resample.
    ``metric``: ``auc`` (scores), ``macro_f1`` (predicted classes) or ``spearman``. The result's
    ``samples`` counts the resamples the interval rests on: those where the metric exists (a
    resample of a small segment can draw no defaulter).
    """
    point, weighted = BOOTSTRAPPED[metric]
    y_true, pred_a, pred_b = map(np.asarray, (y_true, pred_a, pred_b))
    diffs = []
    for first in range(0, samples, chunk):
        counts = bootstrap_counts(len(y_true), min(chunk, samples - first), seed + first)
        diffs.append(weighted(y_true, pred_a, counts) - weighted(y_true, pred_b, counts))
    diffs = np.concatenate(diffs)
    diffs = diffs[np.isfinite(diffs)]  # a resample of a small segment can draw one class only: no AUC
    low, high = np.percentile(diffs, [2.5, 97.5]) if len(diffs) else (np.nan, np.nan)
    return {
        "difference": point(y_true, pred_a) - point(y_true, pred_b),
        "ci95_low": float(low),
        "ci95_high": float(high),
        "excludes_zero": bool(low > 0 or high < 0),
        "samples": len(diffs),
        "users": len(y_true),
    }

"""The text read-out: a closed-form, cross-fitted linear map from a user's field texts to the labels.

Why a closed form. What the texts say about a borrower is spread thin: a pawn shop among forty
trips, instant noodles among thirty SKUs. Averaged over a user-month's slots it is a weak,
high-dimensional signal, and a few epochs of SGD on a few thousand noisy labels do not find it:
on the demo warehouse a ridge regression on the per-field mean key vectors reaches a risk AUC
the credit model trained end to end on the same vectors does not. So the head gets the ridge's
answer as an input, and learns what to make of it.

The bag of a user-month is the mean key vector of each field (ride pickup, ride drop-off
place, store, single SKU) over the slots that hold one. The ridge is linear and the bag a mean,
so the read-out of a user-month is, per field, the mean over its slots of a per-key score:
``scores(key) = vector(key) @ weight[field]``. Each key therefore carries 4 x 6 numbers (its
risk, four age-bucket and income scores as each field), computed once per key with its
projected vector and stored beside it in the scoring cache.

Why cross-fitted. A read-out fitted on a training row's label and fed back to the model on
that row tells the model its label (stacked generalization, Wolpert 1992): the head would learn
to trust the text more than it deserves. The training months' rows therefore get scores from a
read-out fitted on the other folds only; the validation and test months, and scoring, get the
read-out fitted on every training row. The folds are the training months
(``ml.dataset.cross_fitting_folds`` says why not users). The encoder itself never sees a
label, so nothing else carries a training label into the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

FIELDS = ("ride_pickup", "ride_place", "store", "sku")
OUTPUTS = ("risk", "age_0", "age_1", "age_2", "age_3", "income")
N_SCORES = len(FIELDS) * len(OUTPUTS)  # what each key carries beside its projected vector
TARGET_GROUPS = ((0,), (1, 2, 3, 4), (5,))  # outputs fitted together: they share the users that have the label


def slot_fields(records: np.ndarray, slots: np.ndarray, sequence_length: int) -> np.ndarray:
    """Field index (``FIELDS``) of each text slot: rides fill records 0..L-1, deliveries L..2L-1."""
    is_ride = records < sequence_length
    return np.where(is_ride, np.minimum(slots, 1), np.where(slots == 0, 2, 3)).astype(np.int64)


def label_targets(frame: pd.DataFrame) -> np.ndarray:
    """(N, 6): risk label, one-hot age bucket, normalised income; NaN where a user-month has no label."""
    y = np.full((len(frame), len(OUTPUTS)), np.nan)
    y[:, 0] = frame.risk_label.to_numpy(np.float64, na_value=np.nan)
    age = frame.age_bucket.to_numpy(np.float64, na_value=np.nan)
    has_age = ~np.isnan(age)
    y[has_age, 1:5] = np.eye(4)[age[has_age].astype(np.int64)]
    y[:, 5] = frame.income_label.to_numpy(np.float64, na_value=np.nan)
    return y


def field_mean_of(rows: np.ndarray, fields: np.ndarray, table_rows: np.ndarray, n_keys: int, n_rows: int) -> sparse.csr_matrix:
    """(N * F cells x keys): each slot's weight in its (row, field) cell's mean; ``@ table`` gives the cells' mean rows."""
    cell = rows * len(FIELDS) + fields  # one (row, field) cell per slot
    counts = np.bincount(cell, minlength=n_rows * len(FIELDS)).astype(np.float64)
    # duplicate (cell, key) pairs add up
    return sparse.csr_matrix((1.0 / counts[cell], (cell, table_rows)), shape=(n_rows * len(FIELDS), n_keys))


def field_bags(rows: np.ndarray, fields: np.ndarray, table_rows: np.ndarray, table: np.ndarray, n_rows: int) -> np.ndarray:
    """(N, F * d) float64: each row's mean key vector per field (``table[table_rows]`` per slot), 0 without a slot."""
    mean_of = field_mean_of(rows, fields, table_rows, len(table), n_rows)
    return np.asarray(mean_of @ table.astype(np.float64)).reshape(n_rows, len(FIELDS) * table.shape[1])


@dataclass
class Readout:
    """Per-key score weights: ``scores = vector @ weight`` gives (F * 6) numbers, field-major."""

    weight: np.ndarray  # (d, F * 6) float32
    bias: np.ndarray  # (6,): the read-out of a user-month is sum_f mean_f(scores[f]) + bias


@dataclass
class CrossFitted:
    full: Readout  # fitted on every training row: validation, test and scoring
    folds: list[Readout]  # fold k's read-out never saw the rows of fold k (``ml.dataset.cross_fitting_folds``)
    scale: np.ndarray  # (6,) spread of the out-of-fold read-outs over the training rows
    shift: np.ndarray  # (6,) their mean: the head reads (read-out - shift) / scale


def cross_fit(bags: np.ndarray, targets: np.ndarray, fold_of_row: np.ndarray, ridge: float) -> CrossFitted:
    """Ridge of ``targets`` on standardised ``bags``, with intercept: per fold (without its rows) and on all rows.

    ``fold_of_row``: ``ml.dataset.cross_fitting_folds``. Each target group keeps the sums of its
    rows (x x', x y', x, y, n); a fold's fit subtracts the fold's own sums, so K + 1 fits cost
    one pass over the data.
    """
    width = bags.shape[1]
    n_folds = int(fold_of_row.max()) + 1
    mean, std = bags.mean(0), bags.std(0) + 1e-6
    x = (bags - mean) / std
    weights = np.zeros((n_folds + 1, width, len(OUTPUTS)))
    biases = np.zeros((n_folds + 1, len(OUTPUTS)))
    for group in TARGET_GROUPS:
        has = ~np.isnan(targets[:, group[0]])
        xg, yg, fg = x[has], targets[has][:, list(group)], fold_of_row[has]
        total = _sums(xg, yg)
        for k in range(n_folds + 1):  # k == n_folds: every row
            mine = fg == k
            sums = total if not mine.any() else tuple(a - b for a, b in zip(total, _sums(xg[mine], yg[mine])))
            w, b = _ridge(*sums, ridge)
            weights[k][:, list(group)], biases[k, list(group)] = w, b
    readouts = [_as_readout(weights[k], biases[k], mean, std) for k in range(n_folds + 1)]
    return cross_fitted(x, weights, biases, fold_of_row, readouts)


def cross_fitted(x: np.ndarray | sparse.csr_matrix, weights: np.ndarray, biases: np.ndarray, fold_of_row: np.ndarray, readouts: list[Readout]) -> CrossFitted:
    """``readouts`` (each fold's, then the full fit's) with the spread of the out-of-fold read-outs of ``x``'s rows.

    x: the fit's design matrix (dense or sparse); weights (K + 1, width, 6), biases (K + 1, 6) in its space.
    """
    out_of_fold = np.zeros((x.shape[0], len(OUTPUTS)))
    for k in range(len(readouts) - 1):
        mine = fold_of_row == k
        out_of_fold[mine] = x[mine] @ weights[k] + biases[k]
    return CrossFitted(
        full=readouts[-1], folds=readouts[:-1],
        scale=(out_of_fold.std(0) + 1e-6).astype(np.float32), shift=out_of_fold.mean(0).astype(np.float32),
    )


def _sums(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    return x.T @ x, x.T @ y, x.sum(0), y.sum(0), len(x)


def _ridge(xx: np.ndarray, xy: np.ndarray, sx: np.ndarray, sy: np.ndarray, n: int, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """argmin |y - x w - b|^2 + ridge * n * |w|^2 from the sums of the rows (centred in closed form)."""
    if n == 0:
        return np.zeros_like(xy), np.zeros(xy.shape[1])
    mx, my = sx / n, sy / n
    w = np.linalg.solve(xx - n * np.outer(mx, mx) + ridge * n * np.eye(len(xx)), xy - n * np.outer(mx, my))
    return w, my - mx @ w


def _as_readout(weight: np.ndarray, bias: np.ndarray, mean: np.ndarray, std: np.ndarray) -> Readout:
    """Fold the standardisation into per-key weights: (W / std) applied to a key vector, per field."""
    n_fields, d = len(FIELDS), len(mean) // len(FIELDS)
    raw = (weight / std[:, None]).reshape(n_fields, d, len(OUTPUTS))  # (F, d, 6)
    per_key = raw.transpose(1, 0, 2).reshape(d, n_fields * len(OUTPUTS))  # (d, F * 6), field-major columns
    return Readout(per_key.astype(np.float32), (bias - mean @ (weight / std[:, None])).astype(np.float32))


def user_readout(
    rows: np.ndarray, fields: np.ndarray, key_scores: np.ndarray, bias: np.ndarray, n_rows: int,
    risk_weights: np.ndarray | None = None,
) -> np.ndarray:
    """(N, 6): sum over fields of each field's mean per-key score, plus the bias: the ridge's prediction.

    ``risk_weights`` (one per slot, ``ml.preprocessing.pooled_slot_weights``): risk is instead
    the weighted sum of the slots' risk scores over all fields, the lexical read-out's pooled bag.
    """
    per_field = key_scores.reshape(len(key_scores), len(FIELDS), len(OUTPUTS))[np.arange(len(key_scores)), fields]
    sums = np.zeros((n_rows * len(FIELDS), len(OUTPUTS)))
    np.add.at(sums, rows * len(FIELDS) + fields, per_field)
    counts = np.bincount(rows * len(FIELDS) + fields, minlength=n_rows * len(FIELDS)).astype(np.float64)
    means = (sums / np.maximum(counts, 1.0)[:, None]).reshape(n_rows, len(FIELDS), len(OUTPUTS))
    out = means.sum(1) + bias
    if risk_weights is not None:
        risk = OUTPUTS.index("risk")
        out[:, risk] = np.bincount(rows, weights=risk_weights * per_field[:, risk], minlength=n_rows) + bias[risk]
    return out

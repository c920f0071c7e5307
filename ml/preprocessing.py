"""Turning mart rows into model inputs, identically in training and in scoring.

Everything here reads only ``features.user_month_features``/``user_month_sequences`` rows
and the stored preprocessing parameters (a snapshot saved into each model artifact), so
``ml.train`` and ``ml.scoring`` cannot drift apart:

- numeric features: those ``monitoring.feature_selection`` keeps, ``x = clip(coalesce(x,
  fill), p10, p90)`` with ``preprocessing.numeric_feature_params``, then scaled to [0, 1];
- categoricals: ``preprocessing.categorical_encodings`` codes, 0 for unknown or null;
- records: the last rides at positions 0..L-1 and the last deliveries at L..2L-1 (L =
  var sequence_length), each with its type, local hour, days before the snapshot, amount,
  payment method, status and hashed geohash cell;
- field text slots of each record: a ride's pickup (slot 0) and drop-off place (slot 1); a
  delivery's store (slot 0) and its SKU titles (slots 2..). The model combines them (the
  basket is the mean of its SKU vectors).
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CATEGORICAL_FEATURES = ("city", "device_os", "referral_channel", "email_domain", "phone_carrier")
RECORD_TYPES = {"pad": 0, "ride": 1, "delivery": 2}
RECORD_NUMERIC = ("days_before_scaled", "log_amount_scaled", "amount_missing")
SLOT_ORIGIN, SLOT_PLACE, SLOT_FIRST_ITEM = 0, 1, 2
AMOUNT_LOG_SCALE = 10.0  # log1p(MXN) / 10: 0..1 for amounts up to about 22,000 MXN


@dataclass
class PointsScale:
    """Risk points: ``base_points`` at good:bad odds ``base_odds``, ``pdo`` points to double the odds."""

    base_points: float = 600.0
    base_odds: float = 19.0
    pdo: float = 50.0

    def points(self, default_prob: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(default_prob, dtype=np.float64), 1e-9, 1 - 1e-9)
        factor = self.pdo / math.log(2.0)
        offset = self.base_points - factor * math.log(self.base_odds)
        return offset + factor * np.log((1 - p) / p)


@dataclass
class Preprocessing:
    """Stored preprocessing parameters of one model version (JSON in the artifact)."""

    numeric_features: list[str]
    fill_value: list[float]
    clip_low: list[float]
    clip_high: list[float]
    categorical_codes: dict[str, dict[str, int]]  # feature -> value -> code (0 = unknown)
    payment_codes: dict[str, int]
    ride_status_codes: dict[str, int]
    delivery_status_codes: dict[str, int]
    income_log_min: float
    income_log_max: float
    sequence_length: int
    max_basket_items: int
    lookback_days: float
    cell_precision: int = 6  # records' geohash cut to this many characters before hashing
    cell_buckets: int = 4096  # hashed cell ids 1..cell_buckets; 0 = no cell
    points: PointsScale = field(default_factory=PointsScale)

    # --- shapes ----------------------------------------------------------------------------
    @property
    def n_records(self) -> int:
        return 2 * self.sequence_length

    @property
    def n_slots(self) -> int:
        return SLOT_FIRST_ITEM + self.max_basket_items

    @property
    def categorical_cardinalities(self) -> list[int]:
        """Embedding rows per categorical input: codes 0..max."""
        return [1 + max(self.categorical_codes[f].values(), default=0) for f in CATEGORICAL_FEATURES]

    @property
    def n_payment(self) -> int:
        return 1 + max(self.payment_codes.values(), default=0)

    @property
    def n_status(self) -> int:
        return 1 + len(self.ride_status_codes) + len(self.delivery_status_codes)

    # --- persistence -----------------------------------------------------------------------
    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> "Preprocessing":
        data = json.loads(Path(path).read_text())
        data["points"] = PointsScale(**data["points"])
        return cls(**data)

    # --- user-level inputs -----------------------------------------------------------------
    def numeric(self, features: pd.DataFrame) -> np.ndarray:
        """(N, F) float32 in [0, 1]: fill, clip to p10..p90, scale."""
        x = features[self.numeric_features].to_numpy(dtype=np.float64, na_value=np.nan)
        x = np.where(np.isfinite(x), x, np.asarray(self.fill_value))
        low, high = np.asarray(self.clip_low), np.asarray(self.clip_high)
        x = np.clip(x, low, high)
        return ((x - low) / np.where(high > low, high - low, 1.0)).astype(np.float32)

    def categorical(self, features: pd.DataFrame) -> np.ndarray:
        """(N, K) int64 codes; 0 for null and for values unknown at training time."""
        columns = [features[f].map(self.categorical_codes[f]).fillna(0).to_numpy(np.int64) for f in CATEGORICAL_FEATURES]
        return np.stack(columns, axis=1) if columns else np.zeros((len(features), 0), np.int64)

    def income_mxn(self, normalised: np.ndarray) -> np.ndarray:
        """A normalised income in [-1, 1] back to MXN (inverse of the label transform)."""
        span = self.income_log_max - self.income_log_min
        return np.exp(self.income_log_min + (np.asarray(normalised, dtype=np.float64) + 1.0) / 2.0 * span)

    # --- records ---------------------------------------------------------------------------
    def records(self, sequences: pd.DataFrame) -> dict[str, np.ndarray]:
        """Record-level arrays, (N, 2L) each, plus (N, 2L, 3) numeric; padding has type 0."""
        n, L = len(sequences), self.sequence_length
        out = {
            "record_type": np.zeros((n, 2 * L), np.int64),
            "record_hour": np.zeros((n, 2 * L), np.int64),
            "record_payment": np.zeros((n, 2 * L), np.int64),
            "record_status": np.zeros((n, 2 * L), np.int64),
            "record_cell": np.zeros((n, 2 * L), np.int64),
            "record_numeric": np.zeros((n, 2 * L, len(RECORD_NUMERIC)), np.float32),
        }
        status_offset = {"ride": 0, "delivery": len(self.ride_status_codes)}
        status_codes = {"ride": self.ride_status_codes, "delivery": self.delivery_status_codes}
        for kind, offset in (("ride", 0), ("delivery", L)):
            rows, pos = _positions(sequences[f"{kind}_days_before"].to_numpy(), L)
            if len(rows) == 0:
                continue
            t = pos + offset
            flat = lambda column: _flatten(sequences[f"{kind}_{column}"].to_numpy(), L)  # noqa: E731
            out["record_type"][rows, t] = RECORD_TYPES[kind]
            out["record_hour"][rows, t] = np.nan_to_num(flat("local_hours").astype(np.float64)).astype(np.int64) % 24
            out["record_payment"][rows, t] = pd.Series(flat("payment_methods")).map(self.payment_codes).fillna(0).to_numpy(np.int64)
            status = pd.Series(flat("statuses")).map(status_codes[kind]).fillna(0).to_numpy(np.int64)
            out["record_status"][rows, t] = np.where(status > 0, status + status_offset[kind], 0)
            out["record_cell"][rows, t] = self.cells(flat("geohashes"))
            days = flat("days_before").astype(np.float64)
            amount = flat("amounts").astype(np.float64)
            has_amount = np.isfinite(amount) & (amount >= 0)
            out["record_numeric"][rows, t, 0] = np.clip(np.nan_to_num(days) / self.lookback_days, 0, 1)
            out["record_numeric"][rows, t, 1] = np.where(has_amount, np.log1p(np.where(has_amount, amount, 0)), 0) / AMOUNT_LOG_SCALE
            out["record_numeric"][rows, t, 2] = (~has_amount).astype(np.float32)
        return out

    def cells(self, geohashes: np.ndarray) -> np.ndarray:
        """Stable hashed ids of geohash prefixes (crc32: the same on every machine and run); 0 for none."""
        cut = self.cell_precision
        codes, uniques = pd.factorize(np.asarray(geohashes, dtype=object))  # hash each distinct cell once
        ids = np.fromiter(
            (0 if not g else 1 + zlib.crc32(g[:cut].encode()) % self.cell_buckets for g in uniques),
            dtype=np.int64,
            count=len(uniques),
        )
        return np.append(ids, 0)[codes]  # a null's code is -1: the appended 0

    def text_slots(self, sequences: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every field text slot as (row, record, slot, key): the layout the model reads."""
        L = self.sequence_length
        parts = []
        for column, offset, slot in (
            ("ride_origin_text_keys", 0, SLOT_ORIGIN),
            ("ride_place_text_keys", 0, SLOT_PLACE),
            ("delivery_store_text_keys", L, SLOT_ORIGIN),
        ):
            values = sequences[column].to_numpy()
            rows, pos = _positions(values, L)
            parts.append((rows, pos + offset, np.full(len(rows), slot), _flatten(values, L)))
        baskets = sequences["delivery_item_text_keys"].to_numpy()
        rows, pos = _positions(baskets, L)
        items = _flatten(baskets, L)
        item_rows, item_pos = _positions(items, self.max_basket_items)
        parts.append((rows[item_rows], pos[item_rows] + L, item_pos + SLOT_FIRST_ITEM, _flatten(items, self.max_basket_items)))
        row, record, slot, key = (np.concatenate(p) for p in zip(*parts))
        present = pd.notna(key)
        return row[present], record[present], slot[present], key[present]


def pooled_slot_weights(rows: np.ndarray, keys: np.ndarray, n_rows: int) -> np.ndarray:
    """Each text slot's weight in its user-month's sublinear bag: (1 + log n) / n for a key in n of its slots.

    The weights of a user-month sum to 1. As TF-IDF's sublinear tf, a key repeated in many slots
    (the daily commute's pickup) counts 1 + log n times, not n: what the risk read-out pools
    (``ml.model.lexical``). rows, keys: one entry per slot (any key ids) -> (slots,) float64.
    """
    if len(rows) == 0:
        return np.zeros(0)
    pair = rows.astype(np.int64) * (int(keys.max()) + 1) + keys  # one id per (user-month, key)
    _, which, counts = np.unique(pair, return_inverse=True, return_counts=True)
    n = counts[which].astype(np.float64)
    weight = (1.0 + np.log(n)) / n
    return weight / np.bincount(rows, weights=weight, minlength=n_rows)[rows]


def slot_weight_grid(field_rows: np.ndarray) -> np.ndarray:
    """``pooled_slot_weights`` laid out as the slots: (N, T, S) key rows (0: no key) -> (N, T, S) float32."""
    row, record, slot = np.nonzero(field_rows)
    grid = np.zeros(field_rows.shape, np.float32)
    grid[row, record, slot] = pooled_slot_weights(row, field_rows[row, record, slot], len(field_rows))
    return grid


def records_first(record_type: np.ndarray, width: int | None = None) -> np.ndarray:
    """(N, T') column order that puts each row's real records first, in order; T' = ``width``, else the longest row.

    The credit model reads no record positions (each record carries its own hour and
    recency), so dropping the padding columns beyond T' leaves its outputs as they are, and
    saves the head and the training loop the work: the median user-month fills 19 of 40.
    """
    present = record_type > 0
    if width is None:
        width = max(1, int(present.sum(1).max(initial=0)))
    return np.argsort(~present, axis=1, kind="stable")[:, :width]


def take_records(array: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``array`` (N, T, ...) with its record axis in ``order`` (from ``records_first``)."""
    return np.take_along_axis(array, order.reshape(order.shape + (1,) * (array.ndim - 2)), axis=1)


def _positions(arrays: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and position of every element of a column of arrays (first ``limit`` of each)."""
    lengths = np.fromiter((0 if a is None else min(len(a), limit) for a in arrays), dtype=np.int64, count=len(arrays))
    rows = np.repeat(np.arange(len(arrays)), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return rows, np.arange(lengths.sum()) - starts


def _flatten(arrays: np.ndarray, limit: int) -> np.ndarray:
    """The first ``limit`` elements of every array, concatenated.

    Arrow hands ``mapInPandas`` each list as a 1-d ndarray, which is concatenated as it is
    (floats stay floats); anything else becomes a 1-d object array first.
    """
    pieces = [_one_dim(a)[:limit] for a in arrays if a is not None and len(a)]
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=object)


def _one_dim(values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.ndim == 1:
        return values
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):  # element by element: a list of equal-length lists stays 1-d
        out[i] = value
    return out


def from_marts(
    params: pd.DataFrame,
    selection: pd.DataFrame,
    encodings: pd.DataFrame,
    income: pd.DataFrame,
    dbt_vars: dict[str, Any],
    cell_buckets: int,
    points: PointsScale,
) -> Preprocessing:
    """A snapshot of the stored parameters (read by ``ml.train`` from the preprocessing marts)."""
    selected = sorted(selection.loc[selection.is_selected, "feature_name"])
    if not selected:
        raise ValueError("monitoring.feature_selection selects no feature: the model would have no numeric input")
    params = params.set_index("feature_name").loc[selected]
    codes: dict[str, dict[str, int]] = {}
    for (feature, value, code) in encodings.loc[~encodings.is_unknown, ["feature_name", "category_value", "code"]].itertuples(index=False):
        codes.setdefault(feature, {})[value] = int(code)
    for name in (*CATEGORICAL_FEATURES, "payment_method", "ride_status", "delivery_status"):
        codes.setdefault(name, {})
    row = income.iloc[0]
    return Preprocessing(
        numeric_features=selected,
        fill_value=params.fill_value.astype(float).tolist(),
        clip_low=params.clip_low.astype(float).tolist(),
        clip_high=params.clip_high.astype(float).tolist(),
        categorical_codes={f: codes[f] for f in CATEGORICAL_FEATURES},
        payment_codes=codes["payment_method"],
        ride_status_codes=codes["ride_status"],
        delivery_status_codes=codes["delivery_status"],
        income_log_min=float(row.log_min),
        income_log_max=float(row.log_max),
        sequence_length=int(dbt_vars["sequence_length"]),
        max_basket_items=int(dbt_vars["max_basket_items"]),
        lookback_days=float(max(dbt_vars["lookback_days"])),
        cell_buckets=cell_buckets,
        points=points,
    )

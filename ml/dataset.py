"""The training data: curated marts read through Spark, split out of time, turned into arrays.

Reads ``features.user_month_features``, ``features.user_month_sequences``,
``labels.user_month_labels`` and the preprocessing marts with the same profile and target as
dbt. The split is by snapshot month: the training window (``is_train``, months that also
made the preprocessing parameters and the encoder corpus), then the first out-of-time month
for early stopping (validation) and the last one for every reported figure (test).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ml.model.fit import Labels, ModelInputs
from ml.preprocessing import Preprocessing, PointsScale, from_marts
from ml.warehouse import read_table

REPO_ROOT = Path(__file__).resolve().parents[1]
MIN_USERS_PER_SPLIT = 50
FEATURES = "features.user_month_features"
SEQUENCES = "features.user_month_sequences"
LABELS = "labels.user_month_labels"
FIELD_TEXTS = "features.field_texts"
LABEL_COLUMNS = {"risk": "risk_label", "age": "age_bucket", "income": "income_label"}  # each task's column in LABELS


def dbt_vars() -> dict[str, Any]:
    """The project's vars (dbt_project.yml): sequence length, basket size, lookback windows."""
    return yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())["vars"]


@dataclass
class Split:
    name: str
    months: list[str]
    frame: pd.DataFrame  # features, sequences and labels of its user-months, sorted by (dt, user_id)


@dataclass
class TrainingData:
    preprocessing: Preprocessing
    splits: dict[str, Split]  # train, valid, test
    text_keys: list[str]  # every distinct field key (row i + 1 of an embedding table)
    row_counts: dict[str, dict[str, int]]  # per split: user-months and users with each label


def read_training_data(spark: Any, cell_buckets: int, points: PointsScale) -> TrainingData:
    features = read_table(spark, FEATURES)
    sequences = read_table(spark, SEQUENCES).drop("is_train")
    labels = read_table(spark, LABELS).select("user_id", "dt", *LABEL_COLUMNS.values(), "income_mxn")
    joined = features.join(sequences, ["user_id", "dt"], "inner").join(labels, ["user_id", "dt"], "left")
    frame = joined.toPandas().sort_values(["dt", "user_id"], kind="stable").reset_index(drop=True)
    preprocessing = from_marts(
        read_table(spark, "preprocessing.numeric_feature_params").toPandas(),
        read_table(spark, "monitoring.feature_selection").toPandas(),
        read_table(spark, "preprocessing.categorical_encodings").toPandas(),
        read_table(spark, "preprocessing.income_label_params").toPandas(),
        dbt_vars(),
        cell_buckets,
        points,
    )
    text_keys = sorted(r.text_key for r in read_table(spark, FIELD_TEXTS).select("text_key").collect())
    splits = split_out_of_time(frame)
    counts = {name: label_counts(split.frame) for name, split in splits.items()}
    return TrainingData(preprocessing, splits, text_keys, counts)


def split_out_of_time(frame: pd.DataFrame) -> dict[str, Split]:
    train_months = sorted(frame.loc[frame.is_train, "dt"].unique())
    oot_months = sorted(frame.loc[~frame.is_train, "dt"].unique())
    if not train_months or len(oot_months) < 2:
        raise ValueError(
            f"an out-of-time split needs training months and two later months (validation, test); found training "
            f"{train_months} and out-of-time {oot_months}: generate more months or lower dbt var oot_months' neighbours"
        )
    months = {"train": train_months, "valid": [oot_months[0]], "test": [oot_months[-1]]}
    splits = {}
    for name, chosen in months.items():
        part = frame[frame.dt.isin(chosen)].reset_index(drop=True)
        for label in LABEL_COLUMNS.values():
            n = int(part[label].notna().sum())
            if n < MIN_USERS_PER_SPLIT:
                raise ValueError(
                    f"split {name} (months {chosen}) has {n} users with {label}; at least {MIN_USERS_PER_SPLIT} are needed"
                )
        splits[name] = Split(name, chosen, part)
    return splits


def cross_fitting_folds(train: pd.DataFrame, user_folds: int, seed: int) -> np.ndarray:
    """The fold of each training row for every stacked text score: its month, one fold per training month.

    Why by month. A score stacked into a model (the text read-outs, ``gbm_text``'s linear text
    scores) must reach the training rows as it reaches the rows the model will score. A test
    or scoring row gets the score fitted on every training month, and most of its users were in
    them with labels (on the demo warehouse 95% of the test month's users): the score knows
    what their texts said before. Leaving one month out gives a training row the same: a score
    fitted on the other months, its user's other months included, never on the row itself.
    Folds by user instead hand every training row a score that never saw its user, weaker than
    the one it meets at test, and the model learns to trust it less than it deserves (on the
    demo warehouse: LightGBM on the features and the lexical read-out, test age macro-F1 0.659
    with user folds, 0.686 with month folds).

    A window of one training month has no other month: then ``user_folds`` folds by user, drawn
    with ``seed``, every month of a user in one fold.
    """
    months = train.dt.to_numpy()
    distinct_months = np.unique(months)
    if len(distinct_months) >= 2:
        return np.searchsorted(distinct_months, months).astype(np.int64)
    distinct_users, user_of_row = np.unique(train.user_id.to_numpy(), return_inverse=True)
    fold_of_user = np.random.default_rng(seed).permutation(len(distinct_users)) % user_folds
    return fold_of_user[user_of_row].astype(np.int64)


def label_counts(frame: pd.DataFrame) -> dict[str, int]:
    return {
        "user_months": len(frame),
        "users": int(frame.user_id.nunique()),
        **{column: int(frame[column].notna().sum()) for column in LABEL_COLUMNS.values()},
    }


def model_inputs(frame: pd.DataFrame, prep: Preprocessing, text_keys: list[str], tree_scores: np.ndarray) -> ModelInputs:
    """Arrays of one split; each field key is replaced by its row in the embedding table. ``tree_scores``: (N, 6), ``ml.tree_scores``."""
    rows, records, slots, keys = prep.text_slots(frame)
    slot_index = np.zeros((len(frame), prep.n_records, prep.n_slots), dtype=np.int32)
    position = pd.Index(text_keys).get_indexer(keys)
    if (position < 0).any():
        missing = keys[position < 0][:3].tolist()
        raise ValueError(f"field keys missing from {FIELD_TEXTS}, e.g. {missing}: rebuild it with `dbt build --select field_texts`")
    slot_index[rows, records, slots] = position + 1
    return ModelInputs(prep.numeric(frame), prep.categorical(frame), prep.records(frame), slot_index, tree_scores)


def labels_of(frame: pd.DataFrame) -> Labels:
    return Labels(
        risk=frame.risk_label.to_numpy(dtype=np.float32, na_value=np.nan),
        age=frame.age_bucket.fillna(-1).to_numpy(dtype=np.int64),
        income=frame.income_label.to_numpy(dtype=np.float32, na_value=np.nan),
    )

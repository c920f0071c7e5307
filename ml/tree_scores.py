"""The tree scores every credit model reads: LightGBM on the numeric features and categoricals.

Why a network reads a tree's output: on the demo warehouse the trees read age from
interactions of the categoricals with one numeric feature at a time, and remember the age of
a cell of a few users they were taught (docs/model-experiments.md, "Thin files"). The network
did not learn those in its epochs, whatever was tried (wider wide terms, an MLP term,
piecewise-linear encodings, segment crosses). So each model reads the trees' raw scores (risk
logit, the log-probabilities of the four age buckets, income) in its numeric token and in each
output's linear part, as DeepGBM and the GBDT-feature models of click prediction do, and learns
what the records and the texts add to them.

Training fits the trees cross-fitted by training month, like the text read-outs
(``ml.baselines.stacked_tree_scores``): a training row's scores come from trees fitted without
its month. Validation, test and scoring read the trees fitted on every training row. They are
saved in the artifact (``trees/``) with the training rows' standardisation, and scoring
computes the scores from the same feature columns with this module, so training and scoring
cannot drift apart.

They are ``gbm_stats``'s inputs with settings of their own (``TreeScoreConfig``): scoring runs
them for every user-month, and ``gbm_stats``'s 2 600 trees (2 250 of them age's) cost more
than the rest of the head. A higher learning rate and more leaves make a quarter as many
trees at a third of the cost, with no change the credit models' test intervals can see
(docs/model-experiments.md, "Fewer, larger trees").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml.preprocessing import CATEGORICAL_FEATURES, Preprocessing

TREES_DIR = "trees"
TREE_TASKS = ("risk", "age", "income")
N_TREE_SCORES = 6  # risk logit, four age-bucket log-probabilities, income


def matrix(frame: pd.DataFrame, prep: Preprocessing) -> np.ndarray:
    """The trees' inputs as one float64 matrix: the selected numeric features raw (LightGBM handles
    missing values), then the categorical codes. What prediction feeds the trees.

    A DataFrame costs pandas' checks on every call: 6.8 ms a one-row call against 0.23 ms for
    the trees themselves (demo model), which a caller with small batches pays.
    """
    numeric = frame[prep.numeric_features].to_numpy(np.float64, na_value=np.nan)
    return np.column_stack([numeric, prep.categorical(frame).astype(np.float64)])


def tabular(frame: pd.DataFrame, prep: Preprocessing) -> pd.DataFrame:
    """``matrix`` as a DataFrame with pandas categoricals: what fitting reads, so LightGBM knows the categorical columns.

    Their categories are the codes ``0..cardinality-1``, and LightGBM reads a numpy categorical
    column as the category's code, so a booster scores ``matrix`` and ``tabular`` the same, bit for bit.
    """
    x = pd.DataFrame(matrix(frame, prep), columns=[*prep.numeric_features, *CATEGORICAL_FEATURES])
    for i, name in enumerate(CATEGORICAL_FEATURES):
        x[name] = pd.Categorical(x[name].to_numpy(np.int64), categories=range(prep.categorical_cardinalities[i]))
    return x


def raw_scores(boosters: dict[str, lgb.Booster], x: pd.DataFrame | np.ndarray, threads: int = 1) -> np.ndarray:
    """(N, 6) float64: each task's booster on ``tabular`` rows (or their ``matrix``), on the scale of its output's link."""
    age = boosters["age"].predict(x, raw_score=True, num_threads=threads)
    age = age - age.max(axis=1, keepdims=True)
    age = age - np.log(np.exp(age).sum(axis=1, keepdims=True))  # log-softmax: the buckets' log-probabilities
    return np.column_stack([
        boosters["risk"].predict(x, raw_score=True, num_threads=threads),
        age,
        boosters["income"].predict(x, raw_score=True, num_threads=threads),
    ])


@dataclass
class TreeScores:
    """The trees fitted on every training row and the training rows' (out-of-fold) score scale."""

    boosters: dict[str, lgb.Booster]
    shift: np.ndarray  # (6,) mean of the training rows' out-of-fold raw scores
    scale: np.ndarray  # (6,) their standard deviation

    def standardise(self, raw: np.ndarray) -> np.ndarray:
        return ((raw - self.shift) / self.scale).astype(np.float32)

    def __call__(self, frame: pd.DataFrame, prep: Preprocessing, threads: int = 1) -> np.ndarray:
        """(N, 6) float32: what the credit model reads for user-months ``frame``."""
        return self.standardise(raw_scores(self.boosters, matrix(frame, prep), threads))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for task, booster in self.boosters.items():
            booster.save_model(str(directory / f"{task}.txt"))
        (directory / "scale.json").write_text(json.dumps({"shift": self.shift.tolist(), "scale": self.scale.tolist()}, indent=2))

    @classmethod
    def load(cls, directory: Path) -> "TreeScores":
        scale = json.loads((directory / "scale.json").read_text())
        boosters = {task: lgb.Booster(model_file=str(directory / f"{task}.txt")) for task in TREE_TASKS}
        return cls(boosters, np.asarray(scale["shift"]), np.asarray(scale["scale"]))

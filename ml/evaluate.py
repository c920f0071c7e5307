"""Test-month evaluation: every model's metrics, paired bootstrap comparisons, retention.

Each model is a ``ScoredModel``: risk probability, age-bucket probabilities and normalised
income for every test user-month. Metrics are computed on the users that have each label:

- risk: AUC, KS, Gini against ``risk_label``;
- age: accuracy and macro-F1 of the arg-max bucket against ``age_bucket``;
- income: MAE in MXN and Spearman against the labelled income (clipped at var
  income_clip_max, as the label is), the prediction turned into MXN with
  ``preprocessing.income_label_params``.

``segment_metrics`` repeats the table on parts of the test month (thin and thick files, users
labelled before or first labelled now): one figure for the whole month can hide a model that
wins on most users and loses on a few.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml import metrics
from ml.dataset import LABEL_COLUMNS
from ml.preprocessing import Preprocessing



#: Each task's headline metric, its key in ``compare``'s result and its title: what retention,
#: the segments, the report and the quality benchmark read.
HEADLINE = (
    ("risk", "auc", "risk_auc", "risk AUC"),
    ("age", "macro_f1", "age_macro_f1", "age macro-F1"),
    ("income", "spearman", "income_spearman", "income Spearman"),
)


@dataclass
class ScoredModel:
    risk_prob: np.ndarray  # (N,)
    age_prob: np.ndarray  # (N, 4)
    income: np.ndarray  # (N,) normalised, [-1, 1]


@dataclass
class TestLabels:
    risk: np.ndarray
    age: np.ndarray
    income_norm: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame) -> "TestLabels":
        return cls(
            frame.risk_label.to_numpy(np.float64, na_value=np.nan),
            frame.age_bucket.fillna(-1).to_numpy(np.int64),
            frame.income_label.to_numpy(np.float64, na_value=np.nan),
        )

    def labelled(self) -> dict[str, np.ndarray]:
        """Per task, the rows that have its label."""
        return {"risk": ~np.isnan(self.risk), "age": self.age >= 0, "income": ~np.isnan(self.income_norm)}

    def within(self, masks: dict[str, np.ndarray]) -> "TestLabels":
        """The labels of the rows in each task's mask; every other row counts as unlabelled."""
        return TestLabels(
            np.where(masks["risk"], self.risk, np.nan),
            np.where(masks["age"], self.age, -1),
            np.where(masks["income"], self.income_norm, np.nan),
        )

    def counts(self) -> dict[str, int]:
        return {task: int(mask.sum()) for task, mask in self.labelled().items()}


def _defined(labels: TestLabels) -> dict[str, bool]:
    """Whether each task's metric exists on these labels: AUC needs both outcomes, Spearman two users."""
    has = labels.labelled()
    return {
        "risk": bool(len(np.unique(labels.risk[has["risk"]])) == 2),
        "age": bool(has["age"].any()),
        "income": bool(has["income"].sum() >= 2),
    }


def model_metrics(model: ScoredModel, labels: TestLabels, prep: Preprocessing) -> dict[str, dict[str, float] | None]:
    """Metrics over the labelled users the model scored (an oracle has no truth for hand-made users).

    A task whose metric does not exist on these labels (a segment without defaulters) is None.
    """
    has = labels.labelled()
    r = has["risk"] & ~np.isnan(model.risk_prob)
    a = has["age"] & ~np.isnan(model.age_prob).any(axis=1)
    i = has["income"] & ~np.isnan(model.income)
    defined = _defined(labels)
    return {
        "risk": metrics.risk_metrics(labels.risk[r], model.risk_prob[r]) if defined["risk"] else None,
        "age": metrics.age_metrics(labels.age[a], model.age_prob[a].argmax(1)) if defined["age"] else None,
        "income": (
            metrics.income_metrics(prep.income_mxn(labels.income_norm[i]), prep.income_mxn(model.income[i]))
            if defined["income"] else None
        ),
    }


def readout_metrics(readout: np.ndarray, labels: TestLabels, prep: Preprocessing) -> dict[str, dict[str, float]]:
    """Metrics of a text read-out (``ml.model.readout``: risk, four age scores, normalised income) on its own.

    Its risk score is a linear-probability one, turned into (0, 1) by a strictly increasing map:
    AUC, KS and Gini only rank it.
    """
    risk = 0.5 + np.arctan(readout[:, 0]) / np.pi
    return model_metrics(ScoredModel(risk, readout[:, 1:5], np.clip(readout[:, 5], -1.0, 1.0)), labels, prep)


def compare(
    a: ScoredModel, b: ScoredModel, labels: TestLabels, samples: int, seed: int
) -> dict[str, dict[str, float | bool] | None]:
    """Paired bootstrap of a - b on risk AUC, age macro-F1 and income Spearman, same test users (None: undefined)."""
    has, defined = labels.labelled(), _defined(labels)
    compared = {  # per task: the truth and what each model's headline metric reads (a class for age)
        "risk": (labels.risk, a.risk_prob, b.risk_prob),
        "age": (labels.age, a.age_prob.argmax(1), b.age_prob.argmax(1)),
        "income": (labels.income_norm, a.income, b.income),
    }
    out = {}
    for task, metric, key, _ in HEADLINE:
        rows = has[task]
        y, pred_a, pred_b = (array[rows] for array in compared[task])
        out[key] = metrics.paired_bootstrap(metric, y, pred_a, pred_b, samples, seed) if defined[task] else None
    return out


def record_segments(test: pd.DataFrame, thin_file_records: int) -> dict[str, dict[str, np.ndarray]]:
    """Test user-months by how many ride and delivery records their sequences hold (``lookback_days``).

    A thin file says little but its numbers and categoricals, so a model that reads texts and
    records has least to work with there; credit validation reports it apart. Each segment has
    one mask per task (here the same one).
    """
    n = (test.n_rides + test.n_deliveries).to_numpy()
    masks = {
        "no records": n == 0,
        f"1-{thin_file_records - 1} records": (n > 0) & (n < thin_file_records),
        f"{thin_file_records}+ records": n >= thin_file_records,
    }
    return {name: dict.fromkeys(LABEL_COLUMNS, mask) for name, mask in masks.items()}


def label_history_segments(test: pd.DataFrame, earlier: list[pd.DataFrame]) -> dict[str, dict[str, np.ndarray]]:
    """Per task, test user-months whose user had that label in an earlier (training or validation) month, and the rest.

    Age and income are a user's, so most test users' labels were already there to learn
    from. Whoever applies the age or income score to users without a label meets the second
    segment: the one where a model cannot recognise a user it was taught.
    """
    seen = {
        task: test.user_id.isin(pd.concat([f.user_id[f[column].notna()] for f in earlier])).to_numpy()
        for task, column in LABEL_COLUMNS.items()
    }
    return {
        "labelled before": seen,
        "first labelled in the test month": {task: ~mask for task, mask in seen.items()},
    }


SEGMENT_MODELS = ("student", "teacher", "no_text", "gbm_stats", "gbm_text")


def segment_metrics(
    segments: dict[str, dict[str, np.ndarray]], models: dict[str, ScoredModel], labels: TestLabels, prep: Preprocessing,
    samples: int, seed: int,
) -> dict[str, dict]:
    """Each segment's labelled users, every model's metrics on them and student - gbm_text with its interval."""
    out = {}
    for name, masks in segments.items():
        part = labels.within(masks)
        out[name] = {
            "users": part.counts(),
            "models": {m: model_metrics(models[m], part, prep) for m in SEGMENT_MODELS if m in models},
            "student - gbm_text": compare(models["student"], models["gbm_text"], part, samples, seed),
        }
    return out


def retention(scores: dict[str, dict], student: str = "student", teacher: str = "teacher", base: str = "no_text") -> dict[str, float]:
    """(student - no_text) / (teacher - no_text) on risk AUC, age macro-F1 and income Spearman."""
    out = {}
    for task, metric, _, _ in HEADLINE:
        gain = scores[teacher][task][metric] - scores[base][task][metric]
        out[task] = (scores[student][task][metric] - scores[base][task][metric]) / gain if gain else float("nan")
    return out


def oracle_models(frame: pd.DataFrame, truth: pd.DataFrame, prep: Preprocessing) -> dict[str, ScoredModel]:
    """The generator's truth as two 'models' (evaluation only; nothing trains on it).

    ``oracle``: the true default probability, age bucket and income. ``oracle_observable``:
    the default probability with the never-observable z_hidden integrated out, the best any
    model of the data can reach; its age and income are the oracle's. User-months without a
    truth row (users added by hand to a landing zone) get NaN and are left out of its metrics.
    """
    joined = frame[["user_id", "dt"]].merge(truth, on=["user_id", "dt"], how="left", validate="one_to_one")
    known = joined.age_bucket.notna().to_numpy()
    age_prob = np.full((len(joined), 4), np.nan)
    age_prob[known] = np.eye(4)[joined.age_bucket[known].to_numpy(np.int64)]
    span = prep.income_log_max - prep.income_log_min
    clipped = np.clip(joined.income_mxn.to_numpy(np.float64), np.exp(prep.income_log_min), np.exp(prep.income_log_max))
    income = 2 * (np.log(clipped) - prep.income_log_min) / span - 1
    return {
        "oracle": ScoredModel(joined.default_prob.to_numpy(), age_prob, income),
        "oracle_observable": ScoredModel(joined.default_prob_observable.to_numpy(), age_prob, income),
    }

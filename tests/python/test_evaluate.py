"""Test-month segments: who falls in which, and that a segment's figures are the model's on those users alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import f1_score, roc_auc_score

from ml import evaluate
from ml.preprocessing import Preprocessing

TASKS = ("risk", "age", "income")


def _test_month(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "user_id": [f"u{i}" for i in range(n)],
        "n_rides": rng.integers(0, 21, n) * (rng.random(n) < 0.8),
        "n_deliveries": rng.integers(0, 21, n) * (rng.random(n) < 0.8),
        "risk_label": np.where(rng.random(n) < 0.7, (rng.random(n) < 0.25).astype(float), np.nan),
        "age_bucket": np.where(rng.random(n) < 0.6, rng.integers(0, 4, n).astype(float), np.nan),
        "income_label": np.where(rng.random(n) < 0.5, rng.uniform(-1, 1, n), np.nan),
    })


def test_record_segments_split_every_user_month_once_at_the_threshold() -> None:
    test = pd.DataFrame({"n_rides": [0, 0, 3, 9, 10, 20], "n_deliveries": [0, 1, 6, 0, 0, 20]})
    segments = evaluate.record_segments(test, thin_file_records=10)
    assert list(segments) == ["no records", "1-9 records", "10+ records"]
    masks = np.stack([s["risk"] for s in segments.values()])
    assert (masks.sum(0) == 1).all()
    assert masks.argmax(0).tolist() == [0, 1, 1, 1, 2, 2]  # 3 + 6 = 9 records is thin; 10 is not


def test_label_history_is_per_task() -> None:
    test = pd.DataFrame({"user_id": ["a", "b", "c"]})
    train = pd.DataFrame({
        "user_id": ["a", "b", "b"],
        "risk_label": [0.0, np.nan, 1.0],
        "age_bucket": [2.0, np.nan, np.nan],
        "income_label": [np.nan, np.nan, np.nan],
    })
    valid = pd.DataFrame({"user_id": ["c"], "risk_label": [np.nan], "age_bucket": [np.nan], "income_label": [0.3]})
    seen = evaluate.label_history_segments(test, [train, valid])["labelled before"]
    assert seen["risk"].tolist() == [True, True, False]
    assert seen["age"].tolist() == [True, False, False]  # b was a training user, never with an age
    assert seen["income"].tolist() == [False, False, True]  # the validation month counts as earlier too


@pytest.fixture(scope="module")
def scored() -> tuple[pd.DataFrame, evaluate.ScoredModel, evaluate.ScoredModel]:
    test = _test_month(3000)
    rng = np.random.default_rng(11)
    n = len(test)

    def model(noise: float) -> evaluate.ScoredModel:
        risk = np.clip(np.nan_to_num(test.risk_label.to_numpy(), nan=0.3) * 0.3 + noise * rng.random(n), 0, 1)
        age = rng.dirichlet(np.ones(4), n) + noise * np.eye(4)[np.nan_to_num(test.age_bucket.to_numpy(float), nan=0).astype(int)]
        income = np.nan_to_num(test.income_label.to_numpy(), nan=0.0) + noise * rng.normal(size=n)
        return evaluate.ScoredModel(risk, age / age.sum(1, keepdims=True), np.clip(income, -1, 1))

    return test, model(0.5), model(1.0)


def test_a_segments_figures_are_the_models_on_its_users_alone(scored) -> None:
    test, student, gbm = scored
    prep = Preprocessing.__new__(Preprocessing)
    prep.income_mxn = lambda x: np.exp(5 + 3 * np.asarray(x))  # strictly increasing: Spearman is unchanged
    labels = evaluate.TestLabels.of(test)
    segments = evaluate.record_segments(test, 10)
    out = evaluate.segment_metrics(segments, {"student": student, "gbm_text": gbm}, labels, prep, 200, 0)
    for name, masks in segments.items():
        rows = masks["risk"]
        r = rows & test.risk_label.notna().to_numpy()
        a = rows & test.age_bucket.notna().to_numpy()
        i = rows & test.income_label.notna().to_numpy()
        assert out[name]["users"] == {"risk": r.sum(), "age": a.sum(), "income": i.sum()}
        got = out[name]["models"]["student"]
        assert got["risk"]["auc"] == pytest.approx(roc_auc_score(test.risk_label[r], student.risk_prob[r]))
        y = test.age_bucket[a].to_numpy(int)
        assert got["age"]["macro_f1"] == pytest.approx(f1_score(y, student.age_prob[a].argmax(1), average="macro"))
        assert got["income"]["spearman"] == pytest.approx(spearmanr(test.income_label[i], student.income[i]).statistic)
        c = out[name]["student - gbm_text"]["age_macro_f1"]
        expected = got["age"]["macro_f1"] - f1_score(y, gbm.age_prob[a].argmax(1), average="macro")
        assert c["difference"] == pytest.approx(expected) and c["users"] == a.sum()
    assert sum(s["users"]["age"] for s in out.values()) == labels.counts()["age"]


def test_a_segment_without_defaulters_has_no_risk_figures(scored) -> None:
    test, student, gbm = scored
    prep = Preprocessing.__new__(Preprocessing)
    prep.income_mxn = lambda x: np.asarray(x)
    no_defaults = test.risk_label.fillna(0).to_numpy() == 0
    segments = {"no defaulters": {task: no_defaults for task in TASKS}}
    out = evaluate.segment_metrics(segments, {"student": student, "gbm_text": gbm}, evaluate.TestLabels.of(test), prep, 50, 0)
    part = out["no defaulters"]
    assert part["models"]["student"]["risk"] is None and part["student - gbm_text"]["risk_auc"] is None
    assert part["models"]["student"]["age"]["macro_f1"] > 0 and part["student - gbm_text"]["age_macro_f1"] is not None

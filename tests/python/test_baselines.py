"""gbm_text's TF-IDF scores and the credit models' tree scores: how they are built, and no label leak out of fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

from ml.baselines import TextScores, stacked_tree_scores
from ml.configs import BaselineConfig, TreeScoreConfig
from ml.dataset import cross_fitting_folds
from ml.preprocessing import CATEGORICAL_FEATURES, Preprocessing
from ml.tree_scores import N_TREE_SCORES, TreeScores, raw_scores, tabular

PLACES = ["aeropuerto internacional", "hospital general", "casa de empeño centro", "escuela primaria", "oficina centro",
          "plaza comercial", "casa de empeño norte", "hospital del niño"]
STORES = ["farmacia del ahorro", "tacos el güero", "super mercado central", "farmacia guadalajara", "pizzas la esquina"]
SKUS = ["pañales etapa 3", "sopa instantánea", "cerveza clara six", "leche entera 1 l", "tarjeta de recarga 100",
        "aspirina 500 mg", "pañales etapa 4", "sopa de fideo"]


@pytest.fixture()
def prep() -> Preprocessing:
    return Preprocessing(
        numeric_features=[], fill_value=[], clip_low=[], clip_high=[], categorical_codes={}, payment_codes={},
        ride_status_codes={}, delivery_status_codes={}, income_log_min=7.0, income_log_max=10.0,
        sequence_length=3, max_basket_items=2, lookback_days=90.0,
    )


def _frame(n_users: int = 40, seed: int = 0) -> pd.DataFrame:
    """Two months per user; the pawn shops and the nappies carry the labels."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        for month in range(2):
            rides = [(rng.choice(PLACES), rng.choice(PLACES)) for _ in range(rng.integers(0, 4))]
            deliveries = [(rng.choice(STORES), list(rng.choice(SKUS, rng.integers(1, 3)))) for _ in range(rng.integers(0, 4))]
            words = " ".join([a + " " + b for a, b in rides] + [s + " " + " ".join(i) for s, i in deliveries])
            rows.append({
                "user_id": f"u{user}",
                "dt": f"2026-0{month + 1}-01",
                "ride_origin_text_keys": [a for a, _ in rides],
                "ride_place_text_keys": [b for _, b in rides],
                "delivery_store_text_keys": [s for s, _ in deliveries],
                "delivery_item_text_keys": [i for _, i in deliveries],
                "risk_label": float(("empeño" in words) != (rng.random() < 0.2)) if user % 5 else np.nan,
                "age_bucket": float(("pañales" in words) + 2 * (rng.random() < 0.3)) if user % 7 else np.nan,
                "income_label": float("aeropuerto" in words) - 0.5 + 0.3 * rng.standard_normal(),
            })
    return pd.DataFrame(rows)


def _documents(frame: pd.DataFrame) -> list[list[str]]:
    return [row.ride_origin_text_keys + row.ride_place_text_keys + row.delivery_store_text_keys
            + [sku for basket in row.delivery_item_text_keys for sku in basket] for row in frame.itertuples()]


def test_document_tfidf_is_sklearns_over_the_keys_of_the_user_month(prep: Preprocessing) -> None:
    """``counts = U @ K`` equals sklearn's own analyzers run over each slot's key, summed per document."""
    frame = _frame()
    text = TextScores(BaselineConfig(), sorted(PLACES + STORES + SKUS), prep)
    text.fit_out_of_fold(frame, cross_fitting_folds(frame, 3, 0))
    x = text.features(frame)
    assert x.dtype == np.float32 and x.shape[0] == len(frame)

    word, char = text.word.build_analyzer(), text.char.build_analyzer()
    vocabulary = {("word", g): i for g, i in text.word.vocabulary_.items()}
    vocabulary |= {("char", g): len(text.word.vocabulary_) + i for g, i in text.char.vocabulary_.items()}
    oracle = CountVectorizer(
        analyzer=lambda keys: [("word", g) for k in keys for g in word(k)] + [("char", g) for k in keys for g in char(k)],
        vocabulary=vocabulary,
    )
    counts = oracle.transform(_documents(frame))
    assert counts.sum() > 0 and len(text.word.vocabulary_) > 5 and len(text.char.vocabulary_) > 20
    expected = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
    np.testing.assert_allclose(x.toarray(), expected.toarray(), rtol=1e-5, atol=1e-6)


def test_out_of_fold_scores_never_see_their_own_rows_labels(prep: Preprocessing) -> None:
    """Folds are the training months: flipping every label of one month leaves that month's scores as they were."""
    frame = _frame()
    keys = sorted(PLACES + STORES + SKUS)
    folds = cross_fitting_folds(frame, 4, 0)
    assert sorted(set(folds)) == [0, 1]
    before = TextScores(BaselineConfig(), keys, prep).fit_out_of_fold(frame, folds)
    flipped = frame.copy()
    mine = (flipped.dt == "2026-01-01").to_numpy()
    flipped.loc[mine, "risk_label"] = 1 - flipped.loc[mine, "risk_label"]
    flipped.loc[mine, "age_bucket"] = 3 - flipped.loc[mine, "age_bucket"]
    flipped.loc[mine, "income_label"] = -flipped.loc[mine, "income_label"]
    after = TextScores(BaselineConfig(), keys, prep).fit_out_of_fold(flipped, folds)
    np.testing.assert_array_equal(after[mine], before[mine])
    assert not np.allclose(after[~mine], before[~mine])  # the flip did reach the other month's scores
    # and the text says what the labels say: pawn shops score riskier, out of fold
    pawn = np.array(["empeño" in " ".join(d) for d in _documents(frame)])
    assert before[pawn, 0].mean() > before[~pawn, 0].mean()


# --- the tree scores the credit models read (``stacked_tree_scores``, ``ml.tree_scores``) ----------------------

def _tabular_splits(seed: int = 0) -> tuple[dict[str, pd.DataFrame], Preprocessing]:
    """400 users over three training months, a validation and a test month; one email domain means age bucket 3."""
    rng = np.random.default_rng(seed)
    rows = []
    for month in range(5):
        for user in range(400):
            domain = ["gmail.com", "hotmail.com", "prodigy.net.mx"][user % 3]
            x1, x2 = rng.standard_normal(), rng.standard_normal()
            rows.append({
                "user_id": f"u{user}", "dt": f"2026-0{month + 1}-01", "x1": x1 if rng.random() > 0.1 else np.nan, "x2": x2,
                "city": ["cdmx", "gdl"][user % 2], "device_os": "android", "referral_channel": "organic",
                "email_domain": domain, "phone_carrier": "telcel",
                "risk_label": float(x1 + 0.5 * rng.standard_normal() > 0.5),
                "age_bucket": 3.0 if domain == "prodigy.net.mx" else float(rng.integers(0, 3)),
                "income_label": float(np.tanh(0.5 * x2 + 0.1 * rng.standard_normal())),
            })
    frame = pd.DataFrame(rows)
    codes = {f: {v: i + 1 for i, v in enumerate(sorted(frame[f].unique()))} for f in CATEGORICAL_FEATURES}
    prep = Preprocessing(
        numeric_features=["x1", "x2"], fill_value=[0.0, 0.0], clip_low=[-2.0, -2.0], clip_high=[2.0, 2.0],
        categorical_codes=codes, payment_codes={}, ride_status_codes={}, delivery_status_codes={},
        income_log_min=7.0, income_log_max=10.0, sequence_length=3, max_basket_items=2, lookback_days=90.0,
    )
    splits = {"train": frame[frame.dt < "2026-04-01"], "valid": frame[frame.dt == "2026-04-01"], "test": frame[frame.dt == "2026-05-01"]}
    return {name: split.reset_index(drop=True) for name, split in splits.items()}, prep


CONFIG = TreeScoreConfig(n_estimators=60, num_leaves=7, learning_rate=0.1, min_child_samples=20, early_stopping_rounds=10)


def test_training_rows_tree_scores_never_see_their_own_months_labels() -> None:
    splits, prep = _tabular_splits()
    folds = cross_fitting_folds(splits["train"], 4, 0)
    assert sorted(set(folds)) == [0, 1, 2]
    trees, before = stacked_tree_scores(splits, prep, folds, CONFIG, seed=0)
    flipped = dict(splits, train=splits["train"].copy())
    mine = folds == 0
    flipped["train"].loc[mine, "risk_label"] = 1 - flipped["train"].loc[mine, "risk_label"]
    flipped["train"].loc[mine, "age_bucket"] = 3 - flipped["train"].loc[mine, "age_bucket"]
    flipped["train"].loc[mine, "income_label"] = -flipped["train"].loc[mine, "income_label"]
    trees_after, after = stacked_tree_scores(flipped, prep, folds, CONFIG, seed=0)

    def raw(scores: np.ndarray, fitted: TreeScores) -> np.ndarray:  # undo the standardisation, which every row shares
        return scores * fitted.scale + fitted.shift

    np.testing.assert_allclose(raw(after["train"], trees_after)[mine], raw(before["train"], trees)[mine], rtol=1e-5, atol=1e-5)
    assert not np.allclose(raw(after["train"], trees_after)[~mine], raw(before["train"], trees)[~mine], atol=1e-3)
    # and the scores say what the labels say, out of fold: the email domain that decides age bucket 3
    domain = (splits["train"].email_domain == "prodigy.net.mx").to_numpy()
    assert (before["train"][domain, 4] > before["train"][~domain, 4].max()).all()
    assert np.corrcoef(before["train"][:, 0], splits["train"].x1.fillna(0))[0, 1] > 0.5


def test_saved_trees_score_as_in_training(tmp_path) -> None:
    splits, prep = _tabular_splits()
    trees, scores = stacked_tree_scores(splits, prep, cross_fitting_folds(splits["train"], 4, 0), CONFIG, seed=0)
    assert scores["test"].dtype == np.float32 and scores["test"].shape == (len(splits["test"]), N_TREE_SCORES)
    np.testing.assert_allclose(scores["train"].mean(axis=0), 0.0, atol=1e-5)  # standardised on the training rows
    np.testing.assert_allclose(scores["train"].std(axis=0), 1.0, atol=1e-3)
    trees.save(tmp_path)
    loaded = TreeScores.load(tmp_path)
    for name in ("valid", "test"):
        np.testing.assert_array_equal(loaded(splits[name], prep), scores[name])  # what scoring computes
    # scoring's numpy matrix reads an unknown category (code 0) and a missing number as the training frame does
    unseen = splits["test"].assign(city="monterrey")
    assert unseen.x1.isna().any()
    np.testing.assert_array_equal(loaded(unseen, prep), trees.standardise(raw_scores(trees.boosters, tabular(unseen, prep))))
    # the scores are the full fit's outputs on their links: risk's logit and the age buckets' log-probabilities
    x = tabular(splits["test"], prep)
    risk_logit = scores["test"][:, 0] * trees.scale[0] + trees.shift[0]
    np.testing.assert_allclose(trees.boosters["risk"].predict(x), 1 / (1 + np.exp(-risk_logit)), rtol=1e-5)
    age_log = scores["test"][:, 1:5] * trees.scale[1:5] + trees.shift[1:5]
    np.testing.assert_allclose(trees.boosters["age"].predict(x), np.exp(age_log), rtol=1e-4)
    # fitted with the tree-score settings, not gbm_stats's
    assert all(booster.params["learning_rate"] == CONFIG.learning_rate for booster in trees.boosters.values())

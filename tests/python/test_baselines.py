"""gbm_text's TF-IDF scores: the per-key decomposition of the documents, and no label leak out of fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

from ml.baselines import TextScores
from ml.configs import BaselineConfig
from ml.dataset import cross_fitting_folds
from ml.preprocessing import Preprocessing

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

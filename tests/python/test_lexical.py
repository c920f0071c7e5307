"""The lexical read-out (ml.model.lexical): word-piece TF-IDF per key, its torch and sparse forms, cross-fitting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import Ridge

from ml.configs import TokenizerConfig
from ml.model import lexical
from ml.model.readout import FIELDS, OUTPUTS, label_targets, slot_fields, user_readout
from ml.preprocessing import pooled_slot_weights
from ml.text.tokenizer import train_wordpiece

KEYS = [
    "casa de empeno centro", "hospital general de zona", "universidad autonoma", "oxxo insurgentes",
    "panales etapa 3 paquete", "cerveza lata six pack", "farmacia del ahorro", "aeropuerto internacional terminal 1",
    "escuela primaria benito juarez", "monte de piedad sucursal norte", "tacos el guero", "super kiosko",
]
BUCKETS = 512


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("wordpiece")
    return train_wordpiece(KEYS * 3, TokenizerConfig(vocab_size=120, min_frequency=1, max_length=8), Path(out))


def _tokens(tokenizer, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = tokenizer(["", *keys], truncation=True, max_length=8, padding="longest", return_tensors="np")
    mask = encoded["attention_mask"].astype(np.int64)
    mask[0] = 0  # row 0: no key
    return encoded["input_ids"].astype(np.int64), mask


def _pieces_and_pairs(tokenizer, key: str) -> list[str]:
    ids = tokenizer(key, truncation=True, max_length=8)["input_ids"][1:-1]
    vocab = len(tokenizer)
    return [str(i) for i in ids] + [str(vocab + (a * lexical.PAIR_MULTIPLIER + b) % BUCKETS) for a, b in zip(ids, ids[1:])]


def test_key_rows_equal_scikit_learns_tfidf_of_word_pieces_and_pairs(tokenizer) -> None:
    """Oracle: TfidfVectorizer (smooth IDF, L2) over the same features, on keys whose features occur once each."""
    ids, mask = _tokens(tokenizer, KEYS)
    vocab = len(tokenizer)
    idf = lexical.fit_idf(ids[1:], mask[1:], vocab, BUCKETS)
    rows = lexical.key_matrix(ids, mask, idf, vocab, BUCKETS).toarray()
    assert np.allclose(rows[0], 0.0)  # no key, no features
    docs = [_pieces_and_pairs(tokenizer, key) for key in KEYS]
    oracle = TfidfVectorizer(analyzer=lambda features: features, norm="l2", smooth_idf=True).fit(docs)
    expected = oracle.transform(docs).toarray()
    columns = [int(f) for f in oracle.get_feature_names_out()]
    checked = 0
    for i, doc in enumerate(docs):
        if len(set(doc)) == len(doc):  # the per-occurrence L2 norm equals scikit-learn's only without repeats
            assert np.allclose(rows[i + 1][columns], expected[i], atol=1e-6), KEYS[i]
            assert np.isclose(np.abs(rows[i + 1]).sum(), np.abs(expected[i]).sum(), atol=1e-5)  # nothing outside them
            checked += 1
    assert checked >= len(KEYS) - 2


def test_unseen_features_weigh_nothing(tokenizer) -> None:
    ids, mask = _tokens(tokenizer, KEYS)
    vocab = len(tokenizer)
    idf = lexical.fit_idf(ids[1:4], mask[1:4], vocab, BUCKETS)  # the IDF of three keys only
    rows = lexical.key_matrix(ids, mask, idf, vocab, BUCKETS)
    seen = np.flatnonzero(idf)
    assert set(rows[1:4].indices) <= set(seen)
    assert set(rows.indices) <= set(seen)  # another key's new pieces and pairs are left out, not guessed


def test_torch_scores_equal_the_sparse_rows_times_the_weight(tokenizer) -> None:
    """``lexical_scores`` (what the exported encoder runs, one key or a padded batch) == key_matrix @ weight."""
    keys = [*KEYS, "de de de de", "casa de empeno centro norte sur oriente poniente"]  # repeats; truncated at 8 tokens
    ids, mask = _tokens(tokenizer, keys)
    vocab = len(tokenizer)
    idf = lexical.fit_idf(ids[1:], mask[1:], vocab, BUCKETS)
    weight = np.random.default_rng(0).normal(size=(vocab + BUCKETS, len(FIELDS) * len(OUTPUTS))).astype(np.float32)
    expected = lexical.key_matrix(ids, mask, idf, vocab, BUCKETS) @ weight
    batched = lexical.lexical_scores(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(idf), torch.from_numpy(weight), vocab, BUCKETS)
    assert np.allclose(batched.numpy(), expected, atol=1e-5)
    for i in range(1, len(ids)):  # alone and unpadded, as scoring runs each key
        n = int(mask[i].sum())
        alone = lexical.lexical_scores(
            torch.from_numpy(ids[i : i + 1, :n]), torch.from_numpy(mask[i : i + 1, :n]), torch.from_numpy(idf),
            torch.from_numpy(weight), vocab, BUCKETS,
        )
        assert np.allclose(alone.numpy()[0], expected[i], atol=1e-5)


def _population(tokenizer, seed: int = 0, n_users: int = 50, months: int = 3):
    rng = np.random.default_rng(seed)
    n_rows = n_users * months
    users = np.repeat(np.arange(n_users), months)
    n_slots = 10 * n_rows
    rows = rng.integers(0, n_rows, n_slots)
    records, slots = rng.integers(0, 40, n_slots), rng.integers(0, 6, n_slots)
    slots = np.where(records < 20, np.minimum(slots, 1), slots)
    table_rows = rng.integers(1, len(KEYS) + 1, n_slots)
    fields = slot_fields(records, slots, 20)
    ids, mask = _tokens(tokenizer, KEYS)
    vocab = len(tokenizer)
    idf = lexical.fit_idf(ids[1:], mask[1:], vocab, BUCKETS)
    keys = lexical.key_matrix(ids, mask, idf, vocab, BUCKETS)
    bags = lexical.field_bags(rows, fields, table_rows, keys, n_rows)
    pooled = lexical.pooled_bags(rows, table_rows, keys, n_rows)
    signal = np.asarray(bags @ rng.normal(size=bags.shape[1])).ravel()
    frame = pd.DataFrame({
        "risk_label": np.where(rng.random(n_rows) < 0.8, (signal + rng.normal(size=n_rows) > 0).astype(float), np.nan),
        "age_bucket": np.where(rng.random(n_rows) < 0.7, np.digitize(signal, np.quantile(signal, [0.25, 0.5, 0.75])), np.nan),
        "income_label": np.where(rng.random(n_rows) < 0.6, np.tanh(signal), np.nan),
    })
    folds = np.random.default_rng(seed).permutation(n_users)[users] % 3
    return dict(bags=bags, pooled=pooled, keys=keys, rows=rows, fields=fields, table_rows=table_rows, targets=label_targets(frame), folds=folds, users=users)


def test_pooled_bag_is_sublinear_tf_over_all_slots(tokenizer) -> None:
    """Risk's bag: each row's key counts over every field through scikit-learn's sublinear tf (1 + log n), L1-normalised."""
    p = _population(tokenizer)
    n_rows = p["bags"].shape[0]
    counts = sparse.csr_matrix((np.ones(len(p["rows"])), (p["rows"], p["table_rows"])), shape=(n_rows, p["keys"].shape[0]))
    weights = TfidfTransformer(sublinear_tf=True, use_idf=False, norm="l1").fit_transform(counts)
    assert np.allclose((p["pooled"] - weights @ p["keys"]).toarray(), 0.0, atol=1e-6)
    assert np.allclose(np.bincount(p["rows"], weights=pooled_slot_weights(p["rows"], p["table_rows"], n_rows)), 1.0)


def test_full_fit_is_scikit_learns_ridge_and_decomposes_per_key(tokenizer) -> None:
    p = _population(tokenizer)
    fitted = lexical.cross_fit(p["bags"], p["pooled"], p["targets"], p["folds"], [1.0, 0.5, 2.0])
    key_scores = (p["keys"] @ fitted.full.weight)[p["table_rows"]]  # (slots, F*6)
    n_rows = p["bags"].shape[0]
    weights = pooled_slot_weights(p["rows"], p["table_rows"], n_rows)
    per_row = user_readout(p["rows"], p["fields"], key_scores, fitted.full.bias, n_rows, weights)
    for column, alpha, bags in ((0, 1.0, p["pooled"]), (2, 0.5, p["bags"]), (5, 2.0, p["bags"])):
        has = ~np.isnan(p["targets"][:, column])
        oracle = Ridge(alpha=alpha).fit(bags[has].toarray(), p["targets"][has, column])
        assert np.allclose(per_row[:, column], oracle.predict(bags.toarray()), atol=1e-4)
    risk = fitted.full.weight.reshape(-1, len(FIELDS), len(OUTPUTS))[:, :, 0]
    assert np.allclose(risk, risk[:, :1])  # one risk weight per feature, whatever the field


def test_a_users_fold_read_out_ignores_that_users_labels(tokenizer) -> None:
    p = _population(tokenizer)
    before = lexical.cross_fit(p["bags"], p["pooled"], p["targets"], p["folds"], [1.0, 0.5, 2.0])
    mine = p["users"] == p["users"][0]
    changed = p["targets"].copy()
    changed[mine, 0] = np.where(np.isnan(changed[mine, 0]), np.nan, 1.0 - changed[mine, 0])
    changed[mine, 5] = np.where(np.isnan(changed[mine, 5]), np.nan, -changed[mine, 5])
    after = lexical.cross_fit(p["bags"], p["pooled"], changed, p["folds"], [1.0, 0.5, 2.0])
    fold = p["folds"][mine][0]
    assert np.allclose(before.folds[fold].weight, after.folds[fold].weight, atol=1e-6)
    assert np.allclose(before.folds[fold].bias, after.folds[fold].bias, atol=1e-6)
    assert not np.allclose(before.full.weight, after.full.weight, atol=1e-6)

"""The text read-out (ml.model.readout): closed-form ridge, cross-fitting by month, per-key decomposition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import Ridge

from ml.dataset import cross_fitting_folds
from ml.model.readout import FIELDS, OUTPUTS, cross_fit, field_bags, label_targets, slot_fields, user_readout
from ml.preprocessing import pooled_slot_weights, slot_weight_grid


def _population(seed: int = 0, n_users: int = 60, months: int = 3, n_keys: int = 40, d: int = 5):
    """Random slots of ``n_users`` x ``months`` user-months over ``n_keys`` keys, and labels that depend on them."""
    rng = np.random.default_rng(seed)
    n_rows = n_users * months
    users = np.repeat(np.arange(n_users), months).astype(object)
    dts = np.tile([f"2026-{m + 1:02d}-01" for m in range(months)], n_users)
    table = np.vstack([np.zeros((1, d)), rng.normal(size=(n_keys, d))])  # row 0: no key
    n_slots = 12 * n_rows
    rows = rng.integers(0, n_rows, n_slots)
    records, slots = rng.integers(0, 40, n_slots), rng.integers(0, 6, n_slots)
    slots = np.where(records < 20, np.minimum(slots, 1), slots)  # a ride fills slots 0-1
    table_rows = rng.integers(1, n_keys + 1, n_slots)
    fields = slot_fields(records, slots, 20)
    bags = field_bags(rows, fields, table_rows, table, n_rows)
    signal = bags @ rng.normal(size=bags.shape[1])
    frame = pd.DataFrame({
        "user_id": users,
        "dt": dts,
        "risk_label": np.where(rng.random(n_rows) < 0.8, (signal + rng.normal(size=n_rows) > 0).astype(float), np.nan),
        "age_bucket": np.where(rng.random(n_rows) < 0.7, np.digitize(signal, np.quantile(signal, [0.25, 0.5, 0.75])), np.nan),
        "income_label": np.where(rng.random(n_rows) < 0.6, np.tanh(signal / 3), np.nan),
    })
    folds = cross_fitting_folds(frame, 4, 0)
    return dict(folds=folds, table=table, rows=rows, fields=fields, table_rows=table_rows, bags=bags, frame=frame, n_rows=n_rows)


def test_slot_fields_follow_the_record_layout() -> None:
    records = np.array([0, 0, 19, 20, 20, 39])
    slots = np.array([0, 1, 1, 0, 2, 5])
    assert slot_fields(records, slots, 20).tolist() == [0, 1, 1, 2, 3, 3]  # pickup, place, place, store, sku, sku
    assert FIELDS == ("ride_pickup", "ride_place", "store", "sku")


def test_field_bags_are_each_fields_mean_key_vector() -> None:
    table = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    rows, fields, keys = np.array([0, 0, 0, 1]), np.array([3, 3, 0, 3]), np.array([1, 2, 3, 2])
    bags = field_bags(rows, fields, keys, table, 2).reshape(2, len(FIELDS), 2)
    assert np.allclose(bags[0, 3], [2.0, 3.0]) and np.allclose(bags[0, 0], [5.0, 6.0])
    assert np.allclose(bags[0, 1], 0.0) and np.allclose(bags[1, 3], [3.0, 4.0])


def test_full_fit_equals_scikit_learn_ridge_on_standardised_bags() -> None:
    p = _population()
    targets = label_targets(p["frame"])
    ridge = 0.01
    fitted = cross_fit(p["bags"], targets, p["folds"], ridge)
    x = (p["bags"] - p["bags"].mean(0)) / (p["bags"].std(0) + 1e-6)
    for column in (0, 2, 5):
        has = ~np.isnan(targets[:, column])
        oracle = Ridge(alpha=ridge * has.sum()).fit(x[has], targets[has, column])
        scores = p["bags"] @ _bag_weight(fitted.full.weight)[:, column] + fitted.full.bias[column]
        assert np.allclose(scores, oracle.predict(x), atol=1e-4)


def _bag_weight(per_key: np.ndarray) -> np.ndarray:
    """(d, F*6) per-key weights back to (F*d, 6) weights on the concatenated field means."""
    d = per_key.shape[0]
    return per_key.reshape(d, len(FIELDS), len(OUTPUTS)).transpose(1, 0, 2).reshape(len(FIELDS) * d, len(OUTPUTS))


def test_a_rows_out_of_fold_read_out_ignores_its_months_labels() -> None:
    """Cross-fitting: flipping every label of one training month leaves that month's read-out as it was."""
    p = _population()
    targets = label_targets(p["frame"])
    before = cross_fit(p["bags"], targets, p["folds"], 0.01)
    mine = (p["frame"].dt == "2026-02-01").to_numpy()
    changed = targets.copy()
    changed[mine, 0] = np.where(np.isnan(targets[mine, 0]), np.nan, 1.0 - targets[mine, 0])
    changed[mine, 5] = np.where(np.isnan(targets[mine, 5]), np.nan, -targets[mine, 5])
    after = cross_fit(p["bags"], changed, p["folds"], 0.01)
    fold = p["folds"][mine][0]
    assert (p["folds"][mine] == fold).all() and (p["folds"][~mine] != fold).all()
    assert np.allclose(before.folds[fold].weight, after.folds[fold].weight)
    assert np.allclose(before.folds[fold].bias, after.folds[fold].bias)
    assert not np.allclose(before.full.weight, after.full.weight)  # the full fit does see them


def test_per_key_scores_reproduce_the_ridge_prediction() -> None:
    """sum over fields of the mean per-key score + bias == the ridge on the user-month's field means."""
    p = _population()
    fitted = cross_fit(p["bags"], label_targets(p["frame"]), p["folds"], 0.01)
    key_scores = p["table"][p["table_rows"]] @ fitted.full.weight  # (slots, F*6)
    per_row = user_readout(p["rows"], p["fields"], key_scores, fitted.full.bias, p["n_rows"])
    direct = p["bags"] @ _bag_weight(fitted.full.weight) + fitted.full.bias
    assert np.allclose(per_row, direct, atol=1e-5)


def test_the_model_reads_the_same_read_outs_from_its_key_vectors() -> None:
    """CreditModel's field means over (projection | vector scores | lexical scores) give both read-outs as ``user_readout``."""
    from ml.configs import CreditModelConfig
    from ml.model import lexical
    from ml.model.credit_model import CreditModel, InputDims
    from ml.model.fit import KeyTable

    rng = np.random.default_rng(4)
    n_rows, n_keys, d, r, vocab, buckets = 6, 30, 5, 3, 20, 16
    table = np.vstack([np.zeros((1, d)), rng.normal(size=(n_keys, d))])
    positions = [(t, s) for t in range(20) for s in (0, 1)] + [(t, s) for t in range(20, 40) for s in (0, 2, 3, 4, 5)]
    rows, records, slots = [], [], []
    for row in range(n_rows):  # distinct slot positions per row, so each slot holds one key
        for i in rng.choice(len(positions), size=25, replace=False):
            rows.append(row), records.append(positions[i][0]), slots.append(positions[i][1])
    rows, records, slots = np.array(rows), np.array(records), np.array(slots)
    table_rows = rng.integers(1, n_keys + 1, len(rows))
    fields = slot_fields(records, slots, 20)
    bags = field_bags(rows, fields, table_rows, table, n_rows)
    targets = np.column_stack([rng.random((n_rows, 5)), rng.normal(size=n_rows)])
    folds = np.arange(n_rows) % 2
    vector = cross_fit(bags, targets, folds, 0.1)
    # keys of 1..5 random word pieces between [CLS] (id 2) and [SEP] (id 3), padded; row 0 no key
    lengths = rng.integers(1, 6, n_keys + 1)
    ids = np.zeros((n_keys + 1, 7), np.int64)
    mask = np.zeros_like(ids)
    for k in range(1, n_keys + 1):
        ids[k, : lengths[k] + 2] = [2, *rng.integers(5, vocab, lengths[k]), 3]
        mask[k, : lengths[k] + 2] = 1
    idf = lexical.fit_idf(ids[1:], mask[1:], vocab, buckets)
    keys = lexical.key_matrix(ids, mask, idf, vocab, buckets)
    lexical_bags = lexical.field_bags(rows, fields, table_rows, keys, n_rows)
    pooled = lexical.pooled_bags(rows, table_rows, keys, n_rows)
    lexical_fit = lexical.cross_fit(lexical_bags, pooled, targets, folds, [0.1, 0.1, 0.1])

    config = CreditModelConfig(text_proj_dim=r, d_model=8, n_heads=2, n_layers=1, expert_hidden=8, tower_hidden=4, lexical_buckets=buckets)
    dims = InputDims(n_numeric=2, categorical_cardinalities=[2] * 5, n_payment=3, n_status=3, cell_buckets=8, n_records=40, n_slots=6)
    model = CreditModel(config, dims, text_dim=d, vocab_size=vocab)
    model.set_readout(vector, lexical_fit, idf)
    embeddings = torch.tensor(table, dtype=torch.float32)
    key_table = KeyTable.build(model, embeddings, {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)})
    vectors = model.project_text(embeddings, key_table.lexical)  # (keys + 1, r + 2 * 24)
    slot_rows = torch.zeros(n_rows, 40, 6, dtype=torch.long)
    slot_rows[rows, records, slots] = torch.from_numpy(table_rows)
    record_type = torch.where(torch.arange(40) < 20, 1, 2).expand(n_rows, 40)
    weight = torch.from_numpy(slot_weight_grid(slot_rows.numpy()))
    _, standardised = model.text_bag(vectors[slot_rows], slot_rows > 0, weight, record_type)  # (B, 12)
    scale = np.concatenate([vector.scale, lexical_fit.scale])
    shift = np.concatenate([vector.shift, lexical_fit.shift])
    in_model = standardised.detach().numpy() * scale + shift  # the read-outs before standardising
    from_vectors = user_readout(rows, fields, table[table_rows] @ vector.full.weight, vector.full.bias, n_rows)
    from_pieces = user_readout(
        rows, fields, (keys @ lexical_fit.full.weight)[table_rows], lexical_fit.full.bias, n_rows,
        pooled_slot_weights(rows, table_rows, n_rows),
    )
    assert np.allclose(in_model[:, :6], from_vectors, atol=1e-4)
    assert np.allclose(in_model[:, 6:], from_pieces, atol=1e-4)
    assert np.allclose(from_vectors, bags @ _bag_weight(vector.full.weight) + vector.full.bias, atol=1e-4)
    by_field = lexical_bags @ _bag_weight(lexical_fit.full.weight) + lexical_fit.full.bias
    assert np.allclose(from_pieces[:, 1:], by_field[:, 1:], atol=1e-4)  # age and income: the field means' ridge
    risk = lexical_fit.full.weight[:, 0]  # the same in every field's column
    assert np.allclose(from_pieces[:, 0], pooled @ risk + lexical_fit.full.bias[0], atol=1e-4)  # risk: the pooled bag's


def test_folds_are_the_training_months() -> None:
    p = _population(months=3)
    assert p["folds"].tolist() == [0, 1, 2] * 60  # rows are user-major, months ascending within a user


@pytest.mark.parametrize("n_folds", [2, 5])
def test_a_single_month_falls_back_to_reproducible_user_folds(n_folds: int) -> None:
    frame = pd.DataFrame({"user_id": np.repeat([f"u{i}" for i in range(50)], 2), "dt": "2026-01-01"})
    a, b = cross_fitting_folds(frame, n_folds, 9), cross_fitting_folds(frame, n_folds, 9)
    assert np.array_equal(a, b) and set(a) == set(range(n_folds))
    assert (pd.Series(a).groupby(frame.user_id).nunique() == 1).all()
    assert not np.array_equal(a, cross_fitting_folds(frame, n_folds, 10))

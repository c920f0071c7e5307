"""The credit model's linear parts: a category (the wide part) or a tree score that decides a label alone is learned."""

from __future__ import annotations

import numpy as np
import torch

from ml.configs import CreditModelConfig, FitConfig
from ml.model.credit_model import CreditModel, InputDims
from ml.model.fit import Labels, ModelInputs, fit, predict
from ml.tree_scores import N_TREE_SCORES

N_RECORDS, N_SLOTS = 4, 3


def _population(n: int, seed: int, trees_know_age: bool = False) -> tuple[ModelInputs, Labels]:
    """Users without records; the first categorical's code 3 means age bucket 3, every other code a random bucket.

    ``trees_know_age``: the categoricals say nothing, and the tree scores' four age columns carry
    the bucket (its log-probability 0, the others' -3, with noise).
    """
    rng = np.random.default_rng(seed)
    categorical = rng.integers(0, 4, (n, 5))
    age = np.where(categorical[:, 0] == 3, 3, rng.integers(0, 4, n))
    tree_scores = rng.standard_normal((n, N_TREE_SCORES)).astype(np.float32)
    if trees_know_age:
        age = rng.integers(0, 4, n)
        tree_scores[:, 1:5] = np.where(np.arange(4) == age[:, None], 0.0, -3.0) + 0.5 * tree_scores[:, 1:5]
        tree_scores[:, 1:5] = (tree_scores[:, 1:5] + 2.25) / 1.3  # about standardised, as ``TreeScores`` hands them over
    records = {k: np.zeros((n, N_RECORDS), np.int64) for k in ("record_type", "record_hour", "record_payment", "record_status", "record_cell")}
    records["record_numeric"] = np.zeros((n, N_RECORDS, 3), np.float32)
    inputs = ModelInputs(
        rng.random((n, 2), dtype=np.float32), categorical, records, np.zeros((n, N_RECORDS, N_SLOTS), np.int32), tree_scores
    )
    labels = Labels(
        risk=rng.integers(0, 2, n).astype(np.float32), age=age, income=rng.uniform(-0.5, 0.5, n).astype(np.float32)
    )
    return inputs, labels


CONFIG = CreditModelConfig(d_model=8, n_heads=2, n_layers=1, categorical_dim=2, expert_hidden=8, tower_hidden=4, dropout=0.0)
DIMS = InputDims(n_numeric=2, categorical_cardinalities=[4] * 5, n_payment=2, n_status=2, cell_buckets=4,
                 n_records=N_RECORDS, n_slots=N_SLOTS)


def test_a_category_that_decides_the_age_bucket_is_learned() -> None:
    torch.manual_seed(0)
    model = CreditModel(CONFIG, DIMS, text_dim=None)
    train, train_labels = _population(1200, seed=1)
    valid, valid_labels = _population(400, seed=2)
    fresh = predict(model, valid, None)
    assert not torch.count_nonzero(model.wide(torch.from_numpy(valid.categorical)))  # zero at the start

    fit_config = FitConfig(epochs=4, patience=4, batch_size=64, learning_rate=1e-3, wide_learning_rate=1e-2)
    fit(model, train, train_labels, valid, valid_labels, None, fit_config, seed=0, name="wide")

    decided = valid.categorical[:, 0] == 3
    assert (fresh.age_logits[decided].argmax(1) == 3).mean() < 0.9
    assert (predict(model, valid, None).age_logits[decided].argmax(1) == 3).all()
    term = model.wide.terms[0].weight.detach()[3, 1:5]  # code 3's own term on the four age-bucket logits
    assert int(term.argmax()) == 3 and float(term[3] - term[:3].max()) > 0.1


def test_tree_scores_that_know_the_age_bucket_are_learned_through_the_linear_term() -> None:
    torch.manual_seed(0)
    model = CreditModel(CONFIG, DIMS, text_dim=None)
    train, train_labels = _population(1200, seed=1, trees_know_age=True)
    valid, valid_labels = _population(400, seed=2, trees_know_age=True)
    fresh = predict(model, valid, None)
    assert not torch.count_nonzero(model.tree_gain(torch.from_numpy(valid.tree_scores)))  # zero at the start
    assert (fresh.age_logits.argmax(1) == valid_labels.age).mean() < 0.4  # four buckets: a quarter by chance

    fit_config = FitConfig(epochs=4, patience=4, batch_size=64, learning_rate=1e-2, wide_learning_rate=1e-2)
    fit(model, train, train_labels, valid, valid_labels, None, fit_config, seed=0, name="trees")

    assert (predict(model, valid, None).age_logits.argmax(1) == valid_labels.age).mean() > 0.9
    gain = model.tree_gain.weight.detach()[1:5, 1:5]  # each age bucket's logit on each bucket's tree score
    assert bool((gain.diagonal() > gain.max(dim=1).values - 1e-6).all())  # its own score weighs most

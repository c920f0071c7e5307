"""Training loop and batch prediction for the credit models (plain PyTorch, no trainer library).

The encoder is frozen here: every distinct field key was embedded once into a ``KeyTable``
(row 0 is "no text") with its lexical read-out scores, and a batch gathers its records' field
vectors from it.
The model has no record positions (each token carries its own hour and recency), so a batch
moves its real records to the front and drops the padding columns, and batches group
user-months of similar record counts: the median user-month has 19 of 40 record slots, and
training runs about twice as fast for the same result.

With ``ema_decay`` the weights validated, kept and exported are an exponential moving average
of the trained ones (Polyak averaging): on a few thousand noisy labels a step's weights
overfit the last batches, their average does not as much. Early stopping keeps the epoch with
the best validation score, the mean of risk AUC, age macro-F1 and income Spearman on the
validation month.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from ml import metrics
from ml.configs import FitConfig
from ml.model.calibration import IDENTITY, calibrated
from ml.model.credit_model import TASKS, CreditModel, CreditOutput
from ml.model.losses import UncertaintyWeighting, label_losses, prediction_losses
from ml.model.readout import CrossFitted
from ml.preprocessing import records_first, slot_weight_grid, take_records
from ml.text.encoder import FieldEncoder
from ml.text.batches import bucketed_batches

RECORD_KEYS = ("record_type", "record_hour", "record_payment", "record_status", "record_cell", "record_numeric")


@dataclass
class KeyTable:
    """Every distinct field key as a credit model reads it in training: row 0 is "no key"."""

    embeddings: torch.Tensor  # (K + 1, d) the frozen encoder's vectors
    lexical: torch.Tensor  # (K + 1, F * 6) lexical read-out scores of the model's own (full) fit
    folds: list[tuple[torch.Tensor, torch.Tensor]]  # per cross-fitting fold: (vector read-out weight, lexical scores)

    @classmethod
    @torch.no_grad()
    def build(
        cls, model: CreditModel, embeddings: torch.Tensor, tokens: dict[str, torch.Tensor],
        vector: CrossFitted | None = None, lexical: CrossFitted | None = None, chunk: int = 2048,
    ) -> "KeyTable":
        """The keys' lexical scores (``tokens`` from ``key_tokens``) through ``model.lexical_scores``, the
        function the exported encoder runs: the model's own and, with the cross-fitted read-outs, each fold's."""

        def scores(weight: torch.Tensor | None) -> torch.Tensor:
            ids, mask = tokens["input_ids"], tokens["attention_mask"]
            return torch.cat([model.lexical_scores(ids[i : i + chunk], mask[i : i + chunk], weight) for i in range(0, len(ids), chunk)])

        folds = [] if vector is None else [
            (torch.from_numpy(v.weight), scores(torch.from_numpy(lex.weight))) for v, lex in zip(vector.folds, lexical.folds)
        ]
        return cls(embeddings, scores(None), folds)


def key_tokens(encoder: FieldEncoder, keys: list[str]) -> dict[str, torch.Tensor]:
    """Padded token ids and mask of ``keys`` as a ``KeyTable`` rows them: row 0, no key, has no token."""
    tokens = encoder.tokenize(["", *keys])
    tokens["attention_mask"][0] = 0
    return tokens


@dataclass
class ModelInputs:
    """Model inputs of N user-months, as numpy arrays (see ``ml.preprocessing``)."""

    numeric: np.ndarray  # (N, F) float32
    categorical: np.ndarray  # (N, K) int64
    records: dict[str, np.ndarray]  # (N, T) int64 each; record_numeric (N, T, 3) float32
    slot_index: np.ndarray  # (N, T, S) int32: row of the embedding table, 0 = no text
    tree_scores: np.ndarray  # (N, 6) float32: ``ml.tree_scores``, out of fold on the training rows
    fold: np.ndarray | None = None  # (N,) cross-fitting fold of a training row's text read-out; None or -1: the model's own

    def __len__(self) -> int:
        return len(self.numeric)

    def take(self, index: np.ndarray) -> "ModelInputs":
        return ModelInputs(
            self.numeric[index], self.categorical[index], {k: v[index] for k, v in self.records.items()}, self.slot_index[index],
            self.tree_scores[index], None if self.fold is None else self.fold[index],
        )

    def record_counts(self) -> np.ndarray:
        return (self.records["record_type"] > 0).sum(1)


@dataclass
class Labels:
    risk: np.ndarray  # (N,) float32, NaN = no label
    age: np.ndarray  # (N,) int64, -1 = no label
    income: np.ndarray  # (N,) float32 normalised, NaN = no label

    def take(self, index: np.ndarray) -> "Labels":
        return Labels(self.risk[index], self.age[index], self.income[index])


@dataclass
class Predictions:
    risk_logit: np.ndarray  # (N,)
    age_logits: np.ndarray  # (N, 4)
    income: np.ndarray  # (N,) normalised
    gate_usage: list[list[list[float]]]  # [level][task][expert]: mean gate weight
    risk_calibration: tuple[float, float] = IDENTITY  # the model's Platt scaling when it predicted (ml.model.calibration)

    @property
    def risk_prob(self) -> np.ndarray:
        """Calibrated; ``risk_logit`` stays raw, what the student distils from."""
        return calibrated(self.risk_logit, *self.risk_calibration)

    @property
    def age_prob(self) -> np.ndarray:
        z = np.exp(self.age_logits - self.age_logits.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def soft_targets(self) -> dict[str, np.ndarray]:
        return {"risk_logit": self.risk_logit, "age_logits": self.age_logits, "income": self.income}


@dataclass
class FitResult:
    best_epoch: int
    best_score: float
    history: list[dict] = field(default_factory=list)  # per epoch: losses, validation metrics, task weights
    seconds: float = 0.0


def to_batch(model: CreditModel, inputs: ModelInputs, index: np.ndarray, table: KeyTable | None) -> dict:
    """Tensors of one batch; each text slot gets its key's embedding through the model's projection.

    Real records move to the front, in their order, and padding columns beyond the batch's
    longest user-month are dropped: the outputs are the same, since padding is masked and the
    model reads no record positions. Only the keys the batch uses are projected. A training
    row with a cross-fitting fold reads its keys' scores from that fold's read-outs
    (``table.folds``), fitted without its fold (``ml.model.readout``).
    """
    front = records_first(inputs.records["record_type"][index])  # (B, T') real records first

    def records_of(array: np.ndarray) -> np.ndarray:
        return take_records(array[index], front)

    batch = {
        "record": {k: torch.from_numpy(records_of(inputs.records[k])) for k in RECORD_KEYS},
        "numeric": torch.from_numpy(inputs.numeric[index]),
        "categorical": torch.from_numpy(inputs.categorical[index]),
        "tree_scores": torch.from_numpy(inputs.tree_scores[index]),
        "field_vectors": None,
        "field_present": None,
        "field_weight": None,
    }
    if table is not None and model.text_proj is not None:
        slots = torch.from_numpy(records_of(inputs.slot_index).astype(np.int64))  # (B, T', S)
        keys, position = torch.unique(slots, return_inverse=True)
        embeddings = table.embeddings[keys]
        own = model.project_text(embeddings, table.lexical[keys])
        fold = None if inputs.fold is None or not table.folds else inputs.fold[index]
        # F.embedding, not indexing: its backward sums each key's gradients in a fixed order (reproducible)
        if fold is None or (fold < 0).all():
            batch["field_vectors"] = F.embedding(position, own)  # (B, T', S, D)
        else:
            versions = [model.project_text(embeddings, lexical[keys], weight) for weight, lexical in table.folds] + [own]
            which = torch.from_numpy(np.where(fold < 0, len(table.folds), fold)).view(-1, 1, 1)  # (B, 1, 1)
            batch["field_vectors"] = F.embedding(which * len(keys) + position, torch.cat(versions))  # (B, T', S, D)
        batch["field_present"] = slots > 0  # (B, T', S)
        batch["field_weight"] = torch.from_numpy(slot_weight_grid(slots.numpy()))  # (B, T', S)
    return batch


def validation_score(pred: Predictions, labels: Labels) -> dict[str, float]:
    """Risk AUC, age macro-F1 and income Spearman on the labelled users, and their mean."""
    has_risk, has_age, has_income = ~np.isnan(labels.risk), labels.age >= 0, ~np.isnan(labels.income)
    out = {
        "risk_auc": metrics.auc(labels.risk[has_risk], pred.risk_prob[has_risk]),
        "age_macro_f1": metrics.macro_f1(labels.age[has_age], pred.age_prob[has_age].argmax(1)),
        "income_spearman": metrics.spearman(labels.income[has_income], pred.income[has_income]),
    }
    out["score"] = float(np.mean(list(out.values())))
    return out


@torch.no_grad()
def predict(
    model: CreditModel, inputs: ModelInputs, table: KeyTable | None, batch_size: int = 1024
) -> Predictions:
    """Batches of similar record counts; the outputs come back in the rows' order."""
    model.eval()
    risk, age, income, gate_sums = [], [], [], None
    by_length = np.argsort(inputs.record_counts(), kind="stable")
    for start in range(0, len(inputs), batch_size):
        index = by_length[start : start + batch_size]
        out = model(**to_batch(model, inputs, index, table))
        risk.append(out.risk_logit.numpy())
        age.append(out.age_logits.numpy())
        income.append(out.income.numpy())
        sums = [[g.sum(0) for g in level] for level in out.gates]
        gate_sums = sums if gate_sums is None else [[a + b for a, b in zip(x, y)] for x, y in zip(gate_sums, sums)]
    usage = [[(g / len(inputs)).tolist() for g in level] for level in gate_sums]
    rows = np.argsort(by_length)  # row i was predicted at position rows[i]
    calibration = tuple(model.risk_calibration.tolist())
    return Predictions(np.concatenate(risk)[rows], np.concatenate(age)[rows], np.concatenate(income)[rows], usage, calibration)


def fit(
    model: CreditModel,
    train: ModelInputs,
    train_labels: Labels,
    valid: ModelInputs,
    valid_labels: Labels,
    table: KeyTable | None,
    config: FitConfig,
    seed: int,
    name: str,
    teacher: Predictions | None = None,
) -> FitResult:
    """Train ``model`` in place; ``teacher`` (its predictions on ``train``) turns on distillation.

    ``train.fold`` points the training rows at ``table.folds``, the cross-fitted text read-outs.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    counts = train.record_counts().tolist()
    weighting = UncertaintyWeighting()
    wide = list(model.wide.parameters())  # per-category output terms: their own, larger rate
    deep = [p for p in model.parameters() if not any(p is w for w in wide)] + list(weighting.parameters())
    rates = [config.learning_rate, config.wide_learning_rate]
    optimizer = torch.optim.AdamW(
        [{"params": deep, "lr": rates[0]}, {"params": wide, "lr": rates[1]}], weight_decay=config.weight_decay
    )
    steps_per_epoch = -(-len(train) // config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=rates, total_steps=config.epochs * steps_per_epoch, pct_start=0.1
    )
    soft = teacher.soft_targets() if teacher is not None else None
    ema = None
    if config.ema_decay > 0:
        ema = torch.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(config.ema_decay), use_buffers=True
        )
    result = FitResult(best_epoch=-1, best_score=-np.inf)
    best_state = None
    started = time.perf_counter()
    for epoch in range(config.epochs):
        model.train()
        batches = bucketed_batches(counts, config.batch_size, generator)
        sums = dict.fromkeys(TASKS, 0.0)
        bar = tqdm(batches, desc=f"{name} epoch {epoch + 1}/{config.epochs}", unit="batch", leave=False)
        for batch_rows in bar:
            index = np.asarray(batch_rows)
            out: CreditOutput = model(**to_batch(model, train, index, table))
            labels = {
                "risk": torch.from_numpy(train_labels.risk[index]),
                "age": torch.from_numpy(train_labels.age[index]),
                "income": torch.from_numpy(train_labels.income[index]),
            }
            if soft is None:
                losses = label_losses(out, labels)
            else:
                targets = {k: torch.from_numpy(v[index]) for k, v in soft.items()}
                losses = prediction_losses(out, labels, targets, config.distill_alpha, config.distill_temperature)
            loss = weighting(losses)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            for t in TASKS:
                sums[t] += losses[t].item()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        evaluated = model if ema is None else ema.module
        valid_pred = predict(evaluated, valid, table)
        scores = validation_score(valid_pred, valid_labels)
        result.history.append(
            {
                "epoch": epoch + 1,
                "train_loss": {t: sums[t] / steps_per_epoch for t in TASKS},
                "valid": scores,
                "task_weights": weighting.weights(),
                "gate_usage": valid_pred.gate_usage,
            }
        )
        tqdm.write(
            f"  {name} epoch {epoch + 1}: valid risk AUC {scores['risk_auc']:.4f}, age macro-F1 "
            f"{scores['age_macro_f1']:.4f}, income Spearman {scores['income_spearman']:.4f}"
        )
        if scores["score"] > result.best_score:
            result.best_score, result.best_epoch = scores["score"], epoch + 1
            best_state = copy.deepcopy(evaluated.state_dict())
        elif epoch + 1 - result.best_epoch >= config.patience:
            break
    model.load_state_dict(best_state)
    result.seconds = time.perf_counter() - started
    return result

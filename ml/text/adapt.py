"""Task adaptation of the encoders on the field texts: TinyBERT's second stage, per distinct key.

Masked-LM embeddings say what a text is made of, not what it says about a borrower: a casa de
empeño and the farmacia next door share a street and half their words. Fine-tuning the encoder
end to end inside the credit model would run it over every record of every user-month, too
slow on 2 cores. The field texts, though, are few (tens of thousands of distinct keys for
millions of slots), so the adaptation runs per key:

1. ``key_targets``: for every key of the training months, what those months say about the
   users whose records hold it: their overdue rate, age-bucket mix and mean income label,
   each shrunk towards the overall value with ``smoothing`` pseudo-users, so a key seen by one
   user says almost nothing (and cannot memorise that user's label);
2. ``adapt_teacher``: the teacher, mean-pooled, fine-tuned to predict those targets;
3. ``distill_student``: the student learns the adapted teacher's attention scores and hidden
   states (as in general distillation) and its key-level predictions (``prediction_loss``).

Only training-month labels are used; validation and test months never reach this stage.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm
from transformers import BertModel, PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from ml.configs import TaskAdaptationConfig
from ml.text.batches import TokenizedCorpus, epoch_batches, pad_batch, steps_for, tokenize_corpus
from ml.text.distill import GeneralDistillation
from ml.text.encoder import FieldEmbedder


@dataclass
class KeyTargets:
    keys: list[str]
    risk: np.ndarray  # (n,) smoothed overdue rate of the key's users
    age: np.ndarray  # (n, 4) smoothed age-bucket distribution
    income: np.ndarray  # (n,) smoothed mean normalised income label
    weight: np.ndarray  # (n,) sqrt(labelled users), normalised to mean 1


def key_targets(
    keys: np.ndarray, rows: np.ndarray, labels: pd.DataFrame, smoothing: float
) -> KeyTargets:
    """Per-key label summaries of the user-months (``rows`` of ``labels``) whose records hold each key."""
    pairs = pd.DataFrame({"row": rows, "key": keys}).drop_duplicates()
    joined = labels.reset_index(drop=True).iloc[pairs.row.to_numpy()].reset_index(drop=True)
    joined["key"] = pairs.key.to_numpy()
    for bucket in range(4):
        joined[f"age_{bucket}"] = (joined.age_bucket == bucket).astype(float).where(joined.age_bucket.notna())
    columns = ["risk_label", "age_0", "age_1", "age_2", "age_3", "income_label"]
    grouped = joined.groupby("key", sort=True)[columns]
    sums, counts = grouped.sum(min_count=1).fillna(0.0), grouped.count()
    prior = joined[columns].mean()
    smoothed = (sums + smoothing * prior) / (counts + smoothing)
    labelled = counts.max(axis=1).to_numpy(float)
    weight = np.sqrt(labelled)
    return KeyTargets(
        keys=smoothed.index.tolist(),
        risk=smoothed.risk_label.to_numpy(np.float32),
        age=smoothed[["age_0", "age_1", "age_2", "age_3"]].to_numpy(np.float32),
        income=smoothed.income_label.to_numpy(np.float32),
        weight=(weight / max(weight.mean(), 1e-9)).astype(np.float32),
    )


class KeyHeads(nn.Module):
    """Linear read-outs of a pooled key embedding: risk logit, age logits, income."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.out = nn.Linear(width, 6)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.out(pooled)  # (B, 6): risk logit, 4 age logits, income


def target_loss(pred: torch.Tensor, target: dict[str, torch.Tensor]) -> torch.Tensor:
    """Soft-label BCE, soft cross-entropy and squared error, weighted per key."""
    risk = F.binary_cross_entropy_with_logits(pred[:, 0], target["risk"], reduction="none")
    age = -(target["age"] * F.log_softmax(pred[:, 1:5], dim=-1)).sum(-1)
    income = (pred[:, 5] - target["income"]) ** 2
    return ((risk + age + income) * target["weight"]).mean()


def _pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def _targets(targets: KeyTargets, index: list[int], device: torch.device) -> dict[str, torch.Tensor]:
    return {
        "risk": torch.from_numpy(targets.risk[index]).to(device),
        "age": torch.from_numpy(targets.age[index]).to(device),
        "income": torch.from_numpy(targets.income[index]).to(device),
        "weight": torch.from_numpy(targets.weight[index]).to(device),
    }


def adapt_teacher(
    teacher: BertModel,
    tokenizer: PreTrainedTokenizerBase,
    targets: KeyTargets,
    config: TaskAdaptationConfig,
    max_length: int,
    seed: int,
    device: torch.device,
    on_step: Callable[[int, float], None] | None = None,
) -> tuple[BertModel, KeyHeads]:
    """A copy of the teacher fine-tuned on the key targets, and its read-out."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed + 2)
    corpus = tokenize_corpus(tokenizer, targets.keys, max_length)
    embedder = FieldEmbedder(copy.deepcopy(teacher)).to(device).train()
    heads = KeyHeads(teacher.config.hidden_size).to(device)
    params = list(embedder.parameters()) + list(heads.parameters())
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.01)
    total = steps_for(len(corpus), config.batch_size, config.teacher_epochs)
    schedule = get_linear_schedule_with_warmup(optimizer, math.ceil(0.06 * total), total)
    with tqdm(total=total, desc="teacher task adaptation (per field key)", unit="batch") as bar:
        for step, index in enumerate(epoch_batches(corpus, config.batch_size, config.teacher_epochs, generator)):
            batch = {k: v.to(device) for k, v in pad_batch(tokenizer, [corpus.input_ids[i] for i in index]).items()}
            loss = target_loss(heads(embedder(**batch)), _targets(targets, index, device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
            if on_step:
                on_step(step, loss.item())
    return embedder.bert.eval(), heads.eval()


def distill_student(
    teacher: BertModel,
    teacher_heads: KeyHeads,
    student: BertModel,
    tokenizer: PreTrainedTokenizerBase,
    keys: list[str],
    config: TaskAdaptationConfig,
    max_length: int,
    seed: int,
    device: torch.device,
    on_step: Callable[[int, float, float, float], None] | None = None,
) -> BertModel:
    """TinyBERT task-specific distillation: attention, hidden and prediction losses on the keys."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed + 3)
    corpus: TokenizedCorpus = tokenize_corpus(tokenizer, keys, max_length)
    distillation = GeneralDistillation(teacher.to(device), copy.deepcopy(student)).to(device)
    teacher_heads = teacher_heads.to(device).requires_grad_(False)
    student_heads = KeyHeads(student.config.hidden_size).to(device)
    params = [p for p in distillation.parameters() if p.requires_grad] + list(student_heads.parameters())
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.01)
    total = steps_for(len(corpus), config.batch_size, config.student_epochs)
    schedule = get_linear_schedule_with_warmup(optimizer, math.ceil(0.06 * total), total)
    distillation.student.train()
    with tqdm(total=total, desc="student task distillation (per field key)", unit="batch") as bar:
        for step, index in enumerate(epoch_batches(corpus, config.batch_size, config.student_epochs, generator)):
            batch = {k: v.to(device) for k, v in pad_batch(tokenizer, [corpus.input_ids[i] for i in index]).items()}
            out = distillation(batch["input_ids"], batch["attention_mask"])
            with torch.no_grad():
                soft = teacher_heads(_pool(out.teacher_last, batch["attention_mask"]))
            pred = student_heads(_pool(out.student_last, batch["attention_mask"]))
            prediction_loss = F.mse_loss(pred, soft)
            loss = out.attention_loss + out.hidden_loss + prediction_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            bar.update(1)
            bar.set_postfix(att=f"{out.attention_loss.item():.3f}", hid=f"{out.hidden_loss.item():.3f}", pred=f"{prediction_loss.item():.4f}")
            if on_step:
                on_step(step, out.attention_loss.item(), out.hidden_loss.item(), prediction_loss.item())
    return distillation.student.eval()


def adapt_encoders(
    encoder_dir: Path,
    keys: np.ndarray,
    rows: np.ndarray,
    labels: pd.DataFrame,
    config: TaskAdaptationConfig,
    max_length: int,
    seed: int,
    device: torch.device,
) -> dict:
    """Stage two for both encoders of ``encoder_dir``; saves ``task/teacher`` and ``task/student``."""
    from ml.text.build import plot_losses
    from ml.text.encoder import FieldEncoder

    targets = key_targets(keys, rows, labels, config.smoothing)
    teacher = FieldEncoder.from_pretrained(encoder_dir / "teacher", max_length)
    student = FieldEncoder.from_pretrained(encoder_dir / "student", max_length)
    curves: dict[str, list[float]] = {"adaptation": [], "attention_loss": [], "hidden_loss": [], "prediction_loss": []}
    adapted, heads = adapt_teacher(
        teacher.embedder.bert, teacher.tokenizer, targets, config, max_length, seed, device,
        on_step=lambda step, loss: curves["adaptation"].append(loss),
    )

    def record(step: int, attention: float, hidden: float, prediction: float) -> None:
        curves["attention_loss"].append(attention)
        curves["hidden_loss"].append(hidden)
        curves["prediction_loss"].append(prediction)

    distilled = distill_student(
        adapted, heads, student.embedder.bert, teacher.tokenizer, targets.keys, config, max_length, seed, device, on_step=record
    )
    out = encoder_dir / "task"
    FieldEncoder(adapted.cpu(), teacher.tokenizer, max_length).save_pretrained(out / "teacher")
    FieldEncoder(distilled.cpu(), teacher.tokenizer, max_length).save_pretrained(out / "student")
    plot_losses(
        curves,
        out / "task_losses.png",
        panels=(
            ("teacher task adaptation (key targets)", ("adaptation",)),
            ("student task distillation", ("attention_loss", "hidden_loss", "prediction_loss")),
        ),
    )
    return {
        "keys": len(targets.keys),
        "smoothing": config.smoothing,
        "final_loss": {name: float(np.mean(v[-20:])) for name, v in curves.items() if v},
        "curves": curves,
    }

"""Task losses over labelled users only, TinyBERT's prediction-layer distillation, task weighting.

Task weights: uncertainty weighting (Kendall, Gal & Cipolla 2018). Each task t has a learned
log-variance s_t and the total is sum_t exp(-s_t) * L_t + s_t: a noisy or hard task is
down-weighted, and the + s_t term stops the weights from collapsing to zero. It removes three
hand-tuned weights whose right values change with the label mix of every month.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ml.model.credit_model import TASKS, CreditOutput


def risk_loss(logit: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy over users with a risk label (label NaN = none)."""
    has = ~torch.isnan(label)
    if not has.any():
        return logit.new_zeros(())
    return F.binary_cross_entropy_with_logits(logit[has], label[has])


def age_loss(logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over users with an age bucket (label -1 = none)."""
    has = label >= 0
    if not has.any():
        return logits.new_zeros(())
    return F.cross_entropy(logits[has], label[has])


def income_loss(pred: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Squared error on the normalised income over users with an income label."""
    has = ~torch.isnan(label)
    if not has.any():
        return pred.new_zeros(())
    return F.mse_loss(pred[has], label[has])


def label_losses(out: CreditOutput, labels: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {
        "risk": risk_loss(out.risk_logit, labels["risk"]),
        "age": age_loss(out.age_logits, labels["age"]),
        "income": income_loss(out.income, labels["income"]),
    }


def prediction_losses(
    out: CreditOutput,
    labels: dict[str, torch.Tensor],
    teacher: dict[str, torch.Tensor],
    alpha: float,
    temperature: float,
) -> dict[str, torch.Tensor]:
    """TinyBERT's task-specific stage for the student-side model, on every user of the batch.

    risk: alpha x BCE(labels) + (1 - alpha) x BCE against the teacher's probability;
    age: alpha x CE(labels) + (1 - alpha) x T^2 KL(teacher || student) at temperature T;
    income: the teacher's output only (its regression target is the teacher, not the label).
    """
    from_labels = label_losses(out, labels)
    soft_risk = F.binary_cross_entropy_with_logits(out.risk_logit, torch.sigmoid(teacher["risk_logit"]))
    soft_age = F.kl_div(
        F.log_softmax(out.age_logits / temperature, dim=-1),
        F.softmax(teacher["age_logits"] / temperature, dim=-1),
        reduction="batchmean",
    ) * temperature**2
    return {
        "risk": alpha * from_labels["risk"] + (1 - alpha) * soft_risk,
        "age": alpha * from_labels["age"] + (1 - alpha) * soft_age,
        "income": F.mse_loss(out.income, teacher["income"]),
    }


class UncertaintyWeighting(nn.Module):
    """sum_t exp(-s_t) L_t + s_t with learned s_t (one per task)."""

    def __init__(self) -> None:
        super().__init__()
        self.log_var = nn.Parameter(torch.zeros(len(TASKS)))

    def forward(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        return sum(torch.exp(-self.log_var[i]) * losses[t] + self.log_var[i] for i, t in enumerate(TASKS))

    def weights(self) -> dict[str, float]:
        return {t: float(torch.exp(-self.log_var[i].detach())) for i, t in enumerate(TASKS)}

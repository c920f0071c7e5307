"""The credit model: record tokens and a numeric token, fused by a Transformer, then PLE.

    field text vectors ─┐ (pickup, place | store, mean of SKUs)
    type, hour, amount, ├─► record token (B, T, C) ─┐
    payment, status, cell┘                          ├─► Transformer ─► user (B, 2C) ─► PLE ─► towers
    numeric features, categoricals ─► numeric token ┘   (padding masked)              risk: sigmoid
                                                                                       age: softmax(4)
                                                                                       income: tanh, [-1, 1]

PLE is Tang et al. (RecSys 2020): each CGC level has ``experts_shared`` and, per task,
``experts_task``; a task's ``gate`` mixes its own and the shared experts with a softmax, and
every level but the last also mixes all experts into the next level's shared input.

Field text vectors are read per key, already projected to ``text_proj_dim``: training
projects the frozen embedding table (``project_text``) and gathers each slot's row; scoring
gathers the same projected rows from the embedding cache. One path for both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ml.configs import CreditModelConfig
from ml.preprocessing import Preprocessing

TASKS = ("risk", "age", "income")
N_AGE_BUCKETS = 4


@dataclass
class InputDims:
    """Sizes the model takes from the stored preprocessing parameters."""

    n_numeric: int
    categorical_cardinalities: list[int]
    n_payment: int
    n_status: int
    cell_buckets: int
    n_records: int
    n_slots: int
    record_numeric: int = 3

    @classmethod
    def from_preprocessing(cls, prep: Preprocessing) -> "InputDims":
        return cls(
            n_numeric=len(prep.numeric_features),
            categorical_cardinalities=prep.categorical_cardinalities,
            n_payment=prep.n_payment,
            n_status=prep.n_status,
            cell_buckets=prep.cell_buckets,
            n_records=prep.n_records,
            n_slots=prep.n_slots,
        )


def combine_fields(vectors: torch.Tensor, present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per record: slot 0 (pickup or store) and the mean of slots 1.. (drop-off place, or the basket).

    A ride fills slots 0-1 and a delivery slots 0 and 2..; so the second field of a ride is its
    drop-off place and that of a delivery the mean of its SKU vectors.
    vectors (B, T, S, D), present (B, T, S) -> fields (B, T, 2, D), fields_present (B, T, 2).
    """
    present = present.to(vectors.dtype)
    first = vectors[:, :, 0] * present[:, :, 0, None]  # (B, T, D)
    weight = present[:, :, 1:]  # (B, T, S-1)
    count = weight.sum(-1, keepdim=True)  # (B, T, 1)
    second = (vectors[:, :, 1:] * weight[..., None]).sum(2) / count.clamp(min=1.0)  # (B, T, D)
    fields = torch.stack([first, second], dim=2)  # (B, T, 2, D)
    fields_present = torch.cat([present[:, :, :1], (count > 0).to(vectors.dtype)], dim=-1)  # (B, T, 2)
    return fields, fields_present


class RecordEmbedding(nn.Module):
    """One token per record: kind, local hour, payment, status, cell, amount, recency, texts."""

    def __init__(self, config: CreditModelConfig, dims: InputDims, use_text: bool) -> None:
        super().__init__()
        C = config.d_model
        self.kind = nn.Embedding(3, C)  # pad, ride, delivery
        self.hour = nn.Embedding(24, C)
        self.payment = nn.Embedding(dims.n_payment, C)
        self.status = nn.Embedding(dims.n_status, C)
        self.cell = nn.Embedding(dims.cell_buckets + 1, C)
        self.numeric = nn.Linear(dims.record_numeric, C)
        self.use_text = use_text
        if use_text:
            text_in = 2 * config.text_proj_dim + 2  # two field vectors and their presence flags
            self.ride_text = nn.Linear(text_in, C)
            self.delivery_text = nn.Linear(text_in, C)
        self.norm = nn.LayerNorm(C)

    def forward(self, record: dict[str, torch.Tensor], text: torch.Tensor | None, text_present: torch.Tensor | None) -> torch.Tensor:
        x = (
            self.kind(record["record_type"])
            + self.hour(record["record_hour"])
            + self.payment(record["record_payment"])
            + self.status(record["record_status"])
            + self.cell(record["record_cell"])
            + self.numeric(record["record_numeric"])
        )  # (B, T, C)
        if self.use_text:
            B, T = text.shape[:2]
            text_in = torch.cat([text.reshape(B, T, -1), text_present], dim=-1)  # (B, T, 2r + 2)
            is_ride = (record["record_type"] == 1).unsqueeze(-1)  # (B, T, 1)
            x = x + torch.where(is_ride, self.ride_text(text_in), self.delivery_text(text_in))
        return self.norm(x)


class NumericToken(nn.Module):
    """The user's selected numeric features and categorical embeddings as one token."""

    def __init__(self, config: CreditModelConfig, dims: InputDims) -> None:
        super().__init__()
        self.categorical = nn.ModuleList(nn.Embedding(n, config.categorical_dim) for n in dims.categorical_cardinalities)
        width = dims.n_numeric + config.categorical_dim * len(dims.categorical_cardinalities)
        self.proj = nn.Sequential(nn.Linear(width, config.d_model), nn.GELU(), nn.Linear(config.d_model, config.d_model))
        self.norm = nn.LayerNorm(config.d_model)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        parts = [numeric] + [emb(categorical[:, i]) for i, emb in enumerate(self.categorical)]
        return self.norm(self.proj(torch.cat(parts, dim=-1))).unsqueeze(1)  # (B, 1, C)


class SelfAttention(nn.Module):
    def __init__(self, config: CreditModelConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2)  # (B, H, T, d)
        k = k.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2)  # (B, H, T, d)
        v = v.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2)  # (B, H, T, d)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))  # (B, H, T, T)
        att = att.masked_fill(~keep[:, None, None, :], float("-inf"))  # padded records are never attended to
        att = F.softmax(att, dim=-1)  # no dropout on the (B, H, T, T) weights: on a CPU it costs more than the rest
        y = (att @ v).transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.dropout(self.proj(y))


class Block(nn.Module):
    """Pre-norm Transformer encoder block."""

    def __init__(self, config: CreditModelConfig) -> None:
        super().__init__()
        C = config.d_model
        self.ln_1 = nn.LayerNorm(C)
        self.attn = SelfAttention(config)
        self.ln_2 = nn.LayerNorm(C)
        self.mlp = nn.Sequential(
            nn.Linear(C, config.ff_mult * C), nn.GELU(), nn.Linear(config.ff_mult * C, C), nn.Dropout(config.dropout)
        )

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), keep)
        return x + self.mlp(self.ln_2(x))


class Expert(nn.Sequential):
    def __init__(self, in_dim: int, hidden: int, dropout: float) -> None:
        super().__init__(nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.GELU())


class CGC(nn.Module):
    """Customized Gate Control: one PLE extraction level."""

    def __init__(self, in_dim: int, config: CreditModelConfig, n_tasks: int, is_last: bool) -> None:
        super().__init__()
        H, d = config.expert_hidden, config.dropout
        self.experts_shared = nn.ModuleList(Expert(in_dim, H, d) for _ in range(config.experts_shared))
        self.experts_task = nn.ModuleList(
            nn.ModuleList(Expert(in_dim, H, d) for _ in range(config.experts_per_task)) for _ in range(n_tasks)
        )
        self.gate = nn.ModuleList(nn.Linear(in_dim, config.experts_per_task + config.experts_shared) for _ in range(n_tasks))
        n_all = n_tasks * config.experts_per_task + config.experts_shared
        self.gate_shared = None if is_last else nn.Linear(in_dim, n_all)

    def forward(
        self, task_inputs: list[torch.Tensor], shared_input: torch.Tensor
    ) -> tuple[list[torch.Tensor], torch.Tensor | None, list[torch.Tensor]]:
        shared = torch.stack([e(shared_input) for e in self.experts_shared], dim=1)  # (B, n_shared, H)
        task_experts, task_outputs, gates = [], [], []
        for t, x in enumerate(task_inputs):
            own = torch.stack([e(x) for e in self.experts_task[t]], dim=1)  # (B, n_task, H)
            task_experts.append(own)
            weights = F.softmax(self.gate[t](x), dim=-1)  # (B, n_task + n_shared)
            task_outputs.append((weights.unsqueeze(-1) * torch.cat([own, shared], dim=1)).sum(1))  # (B, H)
            gates.append(weights)
        shared_output = None
        if self.gate_shared is not None:
            weights = F.softmax(self.gate_shared(shared_input), dim=-1)  # (B, n_all)
            shared_output = (weights.unsqueeze(-1) * torch.cat([*task_experts, shared], dim=1)).sum(1)  # (B, H)
        return task_outputs, shared_output, gates


class Tower(nn.Sequential):
    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float) -> None:
        super().__init__(nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, out_dim))


@dataclass
class CreditOutput:
    risk_logit: torch.Tensor  # (B,)
    age_logits: torch.Tensor  # (B, 4)
    income: torch.Tensor  # (B,) normalised income in [-1, 1]
    gates: list[list[torch.Tensor]]  # [level][task] (B, n_task + n_shared) gate weights


class CreditModel(nn.Module):
    """Fusion + PLE + towers for risk, age bucket and income. ``text_dim=None``: the no-text model."""

    def __init__(self, config: CreditModelConfig, dims: InputDims, text_dim: int | None) -> None:
        super().__init__()
        self.config, self.dims, self.text_dim = config, dims, text_dim
        use_text = text_dim is not None
        self.text_proj = nn.Linear(text_dim, config.text_proj_dim) if use_text else None
        self.records = RecordEmbedding(config, dims, use_text)
        self.numeric = NumericToken(config, dims)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        user_dim = 2 * config.d_model
        self.levels = nn.ModuleList(
            CGC(user_dim if i == 0 else config.expert_hidden, config, len(TASKS), is_last=i == config.ple_levels - 1)
            for i in range(config.ple_levels)
        )
        H, h, d = config.expert_hidden, config.tower_hidden, config.dropout
        self.towers = nn.ModuleDict(
            {"risk": Tower(H, h, 1, d), "age": Tower(H, h, N_AGE_BUCKETS, d), "income": Tower(H, h, 1, d)}
        )

    def forward(
        self,
        field_vectors: torch.Tensor | None,
        field_present: torch.Tensor | None,
        record: dict[str, torch.Tensor],
        numeric: torch.Tensor,
        categorical: torch.Tensor,
    ) -> CreditOutput:
        """field_vectors (B, T, S, r): each slot's projected key vector; field_present (B, T, S)."""
        text = text_present = None
        if self.text_proj is not None:
            text, text_present = combine_fields(field_vectors, field_present)  # (B, T, 2, r), (B, T, 2)
        tokens = torch.cat([self.numeric(numeric, categorical), self.records(record, text, text_present)], dim=1)
        keep = torch.cat([torch.ones_like(record["record_type"][:, :1], dtype=torch.bool), record["record_type"] > 0], 1)
        for block in self.blocks:
            tokens = block(tokens, keep)  # (B, 1 + T, C)
        tokens = self.ln_f(tokens)
        is_record = keep[:, 1:].unsqueeze(-1).to(tokens.dtype)  # (B, T, 1)
        records_mean = (tokens[:, 1:] * is_record).sum(1) / is_record.sum(1).clamp(min=1.0)  # (B, C)
        user = torch.cat([tokens[:, 0], records_mean], dim=-1)  # (B, 2C): users without records still get one

        task_inputs, shared, gates = [user] * len(TASKS), user, []
        for level in self.levels:
            task_inputs, shared, level_gates = level(task_inputs, shared)
            gates.append(level_gates)
        risk, age, income = (self.towers[t](x) for t, x in zip(TASKS, task_inputs))
        return CreditOutput(risk.squeeze(-1), age, torch.tanh(income.squeeze(-1)), gates)

    def project_text(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Field keys' encoder embeddings to the vectors the head reads (and the cache stores): (N, d) -> (N, r)."""
        return self.text_proj(embeddings)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

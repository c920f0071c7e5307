"""The credit model: record tokens, a numeric token and a bag token, fused by a Transformer, then PLE.

    field text vectors ─┐ (pickup, place | store, mean of SKUs)
    type, hour, amount, ├─► record token (B, T, C) ──────┐
    payment, status, cell┘                               │
    numeric features, tree scores,                       │
    categoricals ─────────────────► numeric token ───────┼─► Transformer ─► user (B, 3C) ─┬─► PLE ─► towers
    shares of record attributes, mean field vectors,     │   (padding masked)               │          + read-out
    per-field text read-out ─────────► bag token ────────┘       text read-outs (B, 12) ───┘          risk: sigmoid, Platt-calibrated
                                                                                                      age: softmax(4)
                                                                                                      income: tanh
    categoricals ─► one term per value and output (the wide part) ─────────────────────────► + wide, every output
    tree scores ─► one linear term per output ─────────────────────────────────────────────► + trees, every output

PLE is Tang et al. (RecSys 2020): each CGC level has ``experts_shared`` and, per task,
``experts_task``; a task's ``gate`` mixes its own and the shared experts with a softmax, and
every level but the last also mixes all experts into the next level's shared input.

Each field key's vector is ``project_text(encoder embedding, lexical scores)``: the learned
projection (``text_proj_dim``), then the key's two text read-outs, fixed closed-form maps: the
scores of its encoder vector (``ml.model.readout``) and of its word pieces
(``ml.model.lexical``, ``lexical_scores`` of its token ids). Training projects the frozen
embedding table and gathers each slot's row; scoring gathers the same rows from the embedding
cache. One path for both. The lexical read-out's risk is one bag over all slots instead, each
slot weighted by ``field_weight`` (``ml.model.lexical`` says why). The read-outs, summed over fields, also enter each task's output
linearly (``readout_gain``): the towers learn what the record sequence adds to what the bag of
texts already says. And they join the user vector the experts read, beside the Transformer's
summary: what the texts say about age is worth more combined with the numbers than added to
them (on the demo warehouse a LightGBM on the numeric features and the lexical read-out reads a
test age macro-F1 of 0.686, a logistic regression on the same inputs 0.661), and through the
Transformer's bag token alone the experts did not find it.

Each categorical value also has its own term on every output (``WideCategorical``), the wide
part of Wide & Deep. And LightGBM trees' scores of the numeric features and categoricals
(``ml.tree_scores``) join the numeric token and each output's linear part (``tree_gain``, zero at
the start): the interactions the trees find there, the network did not learn on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ml.configs import CreditModelConfig
from ml.model.calibration import IDENTITY
from ml.model.lexical import lexical_scores
from ml.model.readout import FIELDS, N_SCORES, OUTPUTS, CrossFitted
from ml.preprocessing import Preprocessing
from ml.tree_scores import N_TREE_SCORES

TASKS = ("risk", "age", "income")
N_AGE_BUCKETS = 4
READOUTS = ("vector", "lexical")  # a key's two read-outs, in the order its vector carries them


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
    tree_scores: int = N_TREE_SCORES

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


class RecordBag(nn.Module):
    """What the user's records add up to, as one token beside the sequence.

    Much of what a record sequence says about a borrower is a share or a count over many
    records: how often they pay cash or cancel, how late they ride, how often a pawn shop or
    instant noodles show up. Attention can learn such sums, but slowly from a few thousand noisy
    labels; this token hands them over. Per record kind (ride, delivery): the share of each
    payment method, status and local hour, the mean record numerics and the record count; with
    text, per field (``FIELDS``) the mean projected vector and the mean scores of both read-outs
    over the slots that hold one, and how many slots there are. Batch normalisation puts these means,
    which vary little between users, on one scale.
    """

    def __init__(self, config: CreditModelConfig, dims: InputDims, use_text: bool) -> None:
        super().__init__()
        self.register_buffer("payment_onehot", torch.eye(dims.n_payment), persistent=False)
        self.register_buffer("status_onehot", torch.eye(dims.n_status), persistent=False)
        self.register_buffer("hour_onehot", torch.eye(24), persistent=False)
        self.use_text = use_text
        per_kind = dims.n_payment + dims.n_status + 24 + dims.record_numeric + 1
        per_field = config.text_proj_dim + len(READOUTS) * len(OUTPUTS) + 1
        width = 2 * per_kind + (len(FIELDS) * per_field if use_text else 0)
        self.scale = nn.BatchNorm1d(width)
        self.proj = nn.Sequential(nn.Linear(width, config.d_model), nn.GELU(), nn.Linear(config.d_model, config.d_model))
        self.norm = nn.LayerNorm(config.d_model)

    def forward(self, record: dict[str, torch.Tensor], fields: torch.Tensor | None) -> torch.Tensor:
        """record: (B, T) each, record_numeric (B, T, 3); fields (B, F, r + 1 + 12) from ``CreditModel.text_bag`` -> (B, 1, C)."""
        attributes = torch.cat(
            [
                self.payment_onehot[record["record_payment"]],
                self.status_onehot[record["record_status"]],
                self.hour_onehot[record["record_hour"]],
                record["record_numeric"],
            ],
            dim=-1,
        )  # (B, T, A)
        parts = []
        for kind in (1, 2):  # ride, delivery
            is_kind = (record["record_type"] == kind).to(attributes.dtype).unsqueeze(-1)  # (B, T, 1)
            count = is_kind.sum(1)  # (B, 1)
            parts += [(attributes * is_kind).sum(1) / count.clamp(min=1.0), torch.log1p(count) / 4.0]
        if self.use_text:
            parts.append(fields.flatten(1))
        return self.norm(self.proj(self.scale(torch.cat(parts, dim=-1)))).unsqueeze(1)  # (B, 1, C)


def field_means(vectors: torch.Tensor, present: torch.Tensor, record_type: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each field's mean slot vector over a user's records, and its slot count.

    vectors (B, T, S, D), present (B, T, S), record_type (B, T) -> means (B, F, D), counts (B, F).
    A ride's slot 0 is its pickup and slot 1 its drop-off place; a delivery's slot 0 is its
    store and slots 2.. its SKUs (``ml.preprocessing``).
    """
    present = present.to(vectors.dtype)
    ride = (record_type == 1).to(vectors.dtype).unsqueeze(-1)  # (B, T, 1)
    delivery = (record_type == 2).to(vectors.dtype).unsqueeze(-1)  # (B, T, 1)
    S = present.shape[2]
    masks = torch.stack(  # (B, F, T, S): the slots of each field
        [
            F.pad(present[:, :, :1] * ride, (0, S - 1)),
            F.pad(present[:, :, 1:2] * ride, (1, S - 2)),
            F.pad(present[:, :, :1] * delivery, (0, S - 1)),
            F.pad(present[:, :, 2:] * delivery, (2, 0)),
        ],
        dim=1,
    )
    counts = masks.sum((2, 3))  # (B, F)
    sums = masks.flatten(2) @ vectors.flatten(1, 2)  # (B, F, T*S) @ (B, T*S, D) -> (B, F, D)
    return sums / counts.clamp(min=1.0).unsqueeze(-1), counts


class NumericToken(nn.Module):
    """The user's selected numeric features, the trees' scores of them and categorical embeddings as one token."""

    def __init__(self, config: CreditModelConfig, dims: InputDims) -> None:
        super().__init__()
        self.categorical = nn.ModuleList(nn.Embedding(n, config.categorical_dim) for n in dims.categorical_cardinalities)
        width = dims.n_numeric + dims.tree_scores + config.categorical_dim * len(dims.categorical_cardinalities)
        self.proj = nn.Sequential(nn.Linear(width, config.d_model), nn.GELU(), nn.Linear(config.d_model, config.d_model))
        self.norm = nn.LayerNorm(config.d_model)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor, tree_scores: torch.Tensor) -> torch.Tensor:
        parts = [numeric, tree_scores] + [emb(categorical[:, i]) for i, emb in enumerate(self.categorical)]
        return self.norm(self.proj(torch.cat(parts, dim=-1))).unsqueeze(1)  # (B, 1, C)


class WideCategorical(nn.Module):
    """Each categorical value's own additive term on every output: the wide part of Wide & Deep (Cheng et al. 2016).

    Some categories decide a label almost alone (on the demo population every user of one
    email domain is 50 or older). Through the numeric token, the Transformer and the experts
    the network reached 77 % accuracy on them, where a tree reads 100 %; a per-value term on the
    outputs is that rule in one parameter. Zero at the start: the deep part and the read-outs
    begin where they would without it.
    """

    def __init__(self, cardinalities: list[int], n_outputs: int) -> None:
        super().__init__()
        self.terms = nn.ModuleList(nn.Embedding(n, n_outputs) for n in cardinalities)
        for term in self.terms:
            nn.init.zeros_(term.weight)

    def forward(self, categorical: torch.Tensor) -> torch.Tensor:
        """(B, K) codes -> (B, n_outputs)."""
        return sum(term(categorical[:, i]) for i, term in enumerate(self.terms))


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

    def __init__(
        self, config: CreditModelConfig, dims: InputDims, text_dim: int | None, vocab_size: int | None = None
    ) -> None:
        """``vocab_size``: of the encoders' tokenizer, which numbers the lexical read-out's word pieces."""
        super().__init__()
        self.config, self.dims, self.text_dim, self.vocab_size = config, dims, text_dim, vocab_size
        use_text = text_dim is not None
        self.text_proj = nn.Linear(text_dim, config.text_proj_dim) if use_text else None
        if use_text:  # the closed-form text read-outs (ml.model.readout, ml.model.lexical), set by set_readout
            n_lexical = vocab_size + config.lexical_buckets
            n_out = len(READOUTS) * len(OUTPUTS)
            self.register_buffer("readout_weight", torch.zeros(text_dim, N_SCORES))
            self.register_buffer("readout_lexical_idf", torch.zeros(n_lexical))
            self.register_buffer("readout_lexical_weight", torch.zeros(n_lexical, N_SCORES))
            self.register_buffer("readout_bias", torch.zeros(n_out))  # vector read-out's, then lexical's
            self.register_buffer("readout_shift", torch.zeros(n_out))
            self.register_buffer("readout_scale", torch.ones(n_out))
            self.readout_gain = nn.Linear(n_out, len(OUTPUTS))  # the read-outs' linear part of each task's output
            self.register_buffer("own_field", torch.eye(len(FIELDS)).view(1, len(FIELDS), len(FIELDS), 1), persistent=False)
        self.records = RecordEmbedding(config, dims, use_text)
        self.numeric = NumericToken(config, dims)
        self.bag = RecordBag(config, dims, use_text)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        user_dim = 3 * config.d_model + (len(READOUTS) * len(OUTPUTS) if use_text else 0)
        self.levels = nn.ModuleList(
            CGC(user_dim if i == 0 else config.expert_hidden, config, len(TASKS), is_last=i == config.ple_levels - 1)
            for i in range(config.ple_levels)
        )
        H, h, d = config.expert_hidden, config.tower_hidden, config.dropout
        self.towers = nn.ModuleDict(
            {"risk": Tower(H, h, 1, d), "age": Tower(H, h, N_AGE_BUCKETS, d), "income": Tower(H, h, 1, d)}
        )
        self.wide = WideCategorical(dims.categorical_cardinalities, len(OUTPUTS))
        self.tree_gain = nn.Linear(dims.tree_scores, len(OUTPUTS))  # the trees' scores' linear part of each output
        nn.init.zeros_(self.tree_gain.weight)  # zero at the start, as the wide part
        nn.init.zeros_(self.tree_gain.bias)
        # Platt scaling of the risk logit (ml.model.calibration), set after training; not used by forward
        self.register_buffer("risk_calibration", torch.tensor(IDENTITY))

    def forward(
        self,
        field_vectors: torch.Tensor | None,
        field_present: torch.Tensor | None,
        field_weight: torch.Tensor | None,
        record: dict[str, torch.Tensor],
        numeric: torch.Tensor,
        categorical: torch.Tensor,
        tree_scores: torch.Tensor,
    ) -> CreditOutput:
        """field_vectors (B, T, S, r + 2 * F * 6): each slot's key vector (``project_text``); field_present (B, T, S);
        field_weight (B, T, S): each slot's weight in the pooled risk bag (``ml.preprocessing.slot_weight_grid``);
        tree_scores (B, 6): the standardised scores of ``ml.tree_scores``."""
        text = text_present = fields = readout = None
        if self.text_proj is not None:
            r = self.config.text_proj_dim
            text, text_present = combine_fields(field_vectors[..., :r], field_present)  # (B, T, 2, r), (B, T, 2)
            fields, readout = self.text_bag(field_vectors, field_present, field_weight, record["record_type"])
        summary = [self.numeric(numeric, categorical, tree_scores), self.bag(record, fields)]
        n = len(summary)
        tokens = torch.cat([*summary, self.records(record, text, text_present)], dim=1)  # (B, n + T, C)
        is_real = record["record_type"] > 0  # (B, T)
        keep = torch.cat([torch.ones_like(is_real[:, :1]).expand(-1, n), is_real], dim=1)  # (B, n + T)
        for block in self.blocks:
            tokens = block(tokens, keep)  # (B, n + T, C)
        tokens = self.ln_f(tokens)
        is_record = is_real.unsqueeze(-1).to(tokens.dtype)  # (B, T, 1)
        records_mean = (tokens[:, n:] * is_record).sum(1) / is_record.sum(1).clamp(min=1.0)  # (B, C)
        user = [*tokens[:, :n].unbind(1), records_mean] + ([] if readout is None else [readout])
        user = torch.cat(user, dim=-1)  # (B, 3C [+ 12]): users without records still get one

        task_inputs, shared, gates = [user] * len(TASKS), user, []
        for level in self.levels:
            task_inputs, shared, level_gates = level(task_inputs, shared)
            gates.append(level_gates)
        risk, age, income = (self.towers[t](x) for t, x in zip(TASKS, task_inputs))
        linear = self.wide(categorical) + self.tree_gain(tree_scores)  # (B, 6): risk, age buckets, income, as OUTPUTS
        if readout is not None:
            linear = linear + self.readout_gain(readout)
        risk, age, income = risk + linear[:, :1], age + linear[:, 1:5], income + linear[:, 5:]
        return CreditOutput(risk.squeeze(-1), age, torch.tanh(income.squeeze(-1)), gates)

    def text_bag(
        self, field_vectors: torch.Tensor, field_present: torch.Tensor, field_weight: torch.Tensor, record_type: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per field: mean projected vector, log slot count, mean scores of both read-outs (B, F, r + 1 + 12); the read-outs (B, 12).

        A read-out is the ridge's prediction, sum over fields of each field's mean scores plus
        the bias, standardised by the spread of the training rows' out-of-fold read-outs. The
        lexical read-out's risk is the ridge's on its pooled bag instead (``ml.model.lexical``):
        the slots' risk scores, the same in every field's column, summed with ``field_weight``.
        """
        r = self.config.text_proj_dim
        means, counts = field_means(field_vectors, field_present, record_type)  # (B, F, r + 2 * F * 6), (B, F)
        scores = means[..., r:].unflatten(-1, (len(READOUTS), len(FIELDS), len(OUTPUTS)))  # (B, F, 2, F, 6)
        own = (scores * self.own_field.unsqueeze(2)).sum(3).flatten(2)  # (B, F, 12): field f's own scores, per read-out
        lexical_risk = len(OUTPUTS) + OUTPUTS.index("risk")  # its column among the 12
        pooled = (field_weight * field_vectors[..., r + N_SCORES + OUTPUTS.index("risk")]).sum((1, 2))  # (B,)
        sums = own.sum(1)  # (B, 12)
        sums = torch.cat([sums[:, :lexical_risk], pooled.unsqueeze(-1), sums[:, lexical_risk + 1 :]], dim=-1)
        readout = (sums + self.readout_bias - self.readout_shift) / self.readout_scale  # (B, 12)
        fields = torch.cat([means[..., :r], torch.log1p(counts).unsqueeze(-1) / 4.0, own / self.readout_scale], dim=-1)
        return fields, readout

    @torch.no_grad()
    def set_risk_calibration(self, slope: float, intercept: float) -> None:
        """Platt scaling fitted on the validation month (``ml.model.calibration.fit_platt``)."""
        self.risk_calibration.copy_(torch.tensor([slope, intercept]))

    def risk_probability(self, risk_logit: torch.Tensor) -> torch.Tensor:
        """The calibrated probability of going overdue: what scoring, points and evaluation read."""
        slope, intercept = self.risk_calibration.unbind()
        return torch.sigmoid(slope * risk_logit + intercept)

    def lexical_scores(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Keys' lexical read-out scores from their token ids (``ml.model.lexical``): (B, L) -> (B, F * 6).

        ``weight``: a cross-fitting fold's lexical read-out instead of the model's own (training rows only).
        """
        weight = self.readout_lexical_weight if weight is None else weight
        return lexical_scores(
            input_ids, attention_mask, self.readout_lexical_idf, weight, self.vocab_size, self.config.lexical_buckets
        )

    def project_text(
        self, embeddings: torch.Tensor, lexical: torch.Tensor, readout_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Field keys' encoder embeddings and lexical scores to the vectors the head reads and the cache stores.

        (N, d), (N, F * 6) -> (N, r + 2 * F * 6). ``readout_weight``: a cross-fitting fold's vector
        read-out instead of the model's own (training rows only; ``lexical`` then is that fold's too).
        """
        weight = self.readout_weight if readout_weight is None else readout_weight
        return torch.cat([self.text_proj(embeddings), embeddings @ weight, lexical], dim=-1)

    @property
    def field_dim(self) -> int:
        """Width of a key's vector in the head and the cache."""
        return self.config.text_proj_dim + len(READOUTS) * N_SCORES

    def set_readout(self, vector: CrossFitted, lexical: CrossFitted, idf: np.ndarray) -> None:
        """The text read-outs fitted on every training row (``ml.model.readout``, ``ml.model.lexical``)."""
        values = {
            "weight": vector.full.weight,
            "lexical_idf": idf,
            "lexical_weight": lexical.full.weight,
            "bias": np.concatenate([vector.full.bias, lexical.full.bias]),
            "shift": np.concatenate([vector.shift, lexical.shift]),
            "scale": np.concatenate([vector.scale, lexical.scale]),
        }
        for name, value in values.items():
            getattr(self, f"readout_{name}").copy_(torch.as_tensor(value, dtype=torch.float32))
        self._start_from_the_lexical_read_out(lexical.shift, lexical.scale)

    @torch.no_grad()
    def _start_from_the_lexical_read_out(self, shift: np.ndarray, scale: np.ndarray) -> None:
        """Initialise ``readout_gain`` so each task's output starts as the lexical read-out's prediction.

        The read-out predicts a probability (risk, each age bucket) or the normalised income; a
        first-order expansion of each output's link around the training mean maps it to a logit:
        d logit(p) = dp / (p (1 - p)), d log(p) = dp / p, and tanh is the identity near 0. The
        towers then learn what the records add, from a start that already reads the texts.
        """
        p = np.clip(shift, 0.01, 0.99)
        slope = np.array([1 / (p[0] * (1 - p[0])), *(1 / p[1:5]), 1.0]) * scale  # per unit of the standardised read-out
        start = np.array([np.log(p[0] / (1 - p[0])), *np.log(p[1:5]), shift[5]])
        lexical = len(OUTPUTS) + np.arange(len(OUTPUTS))  # the lexical half of the read-out inputs
        self.readout_gain.weight.zero_()
        self.readout_gain.weight[np.arange(len(OUTPUTS)), lexical] = torch.as_tensor(slope, dtype=torch.float32)
        self.readout_gain.bias.copy_(torch.as_tensor(start, dtype=torch.float32))

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

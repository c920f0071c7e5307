"""TinyBERT general distillation (Jiao et al. 2020, section 3.1 and 3.3, stage one).

The student learns the teacher's Transformer layers, layer by mapped layer:

- ``attention_loss``: MSE between student and teacher *pre-softmax* attention scores
  (eq. 7), head by head, over real (query, key) pairs only; padded positions are excluded;
- ``hidden_loss``: MSE between the student's hidden states projected by a learned ``W_h``
  and the teacher's (eq. 8), the embedding-layer output included (eq. 9), real tokens only.

Layer mapping is uniform: with ``k = teacher_layers / student_layers``, student layer ``i``
(0-based) learns teacher layer ``k * (i + 1) - 1``; 12 -> 4 maps 0, 1, 2, 3 to 2, 5, 8, 11
(the paper's 1-based "3i"). Prediction-layer distillation belongs to the task-specific stage,
which the credit model does (``ml.model``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import BertModel, PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from ml.configs import BertShape, DistillConfig
from ml.text.batches import TokenizedCorpus, epoch_batches, pad_batch, steps_for
from ml.text.teacher import bert_config


def layer_map(teacher_layers: int, student_layers: int) -> list[int]:
    """Teacher layer (0-based) each student layer learns from."""
    if teacher_layers % student_layers:
        raise ValueError(f"uniform layer mapping needs teacher layers ({teacher_layers}) divisible by student layers ({student_layers})")
    k = teacher_layers // student_layers
    return [k * (i + 1) - 1 for i in range(student_layers)]


def attention_scores(model: BertModel, hidden_states: tuple[torch.Tensor, ...], layer: int) -> torch.Tensor:
    """Pre-softmax attention scores ``Q K^T / sqrt(d_head)`` of one layer, without the mask.

    Hugging Face returns attention *probabilities*; TinyBERT distils the scores before the
    softmax, so they are recomputed from the layer's input and its own query/key projections.
    """
    attention = model.encoder.layer[layer].attention.self
    x = hidden_states[layer]  # input of layer `layer`: (B, T, C)
    B, T, _ = x.shape
    q = attention.query(x).view(B, T, attention.num_attention_heads, -1).transpose(1, 2)  # (B, H, T, d)
    k = attention.key(x).view(B, T, attention.num_attention_heads, -1).transpose(1, 2)  # (B, H, T, d)
    return (q @ k.transpose(-1, -2)) * attention.attention_head_size**-0.5  # (B, H, T, T)


@dataclass
class DistillationOutput:
    attention_loss: torch.Tensor
    hidden_loss: torch.Tensor
    student_last: torch.Tensor  # (B, T, C_student) last hidden states
    teacher_last: torch.Tensor  # (B, T, C_teacher)


class GeneralDistillation(nn.Module):
    """Student, frozen teacher and ``W_h``; ``forward`` gives the attention and hidden losses."""

    def __init__(self, teacher: BertModel, student: BertModel) -> None:
        super().__init__()
        t, s = teacher.config, student.config
        if t.num_attention_heads != s.num_attention_heads:
            raise ValueError(
                f"attention_loss compares head by head: teacher has {t.num_attention_heads} heads, "
                f"student {s.num_attention_heads}; give the student the teacher's head count"
            )
        self.teacher = teacher.eval().requires_grad_(False)
        self.student = student
        self.W_h = nn.Linear(s.hidden_size, t.hidden_size)  # student width -> teacher width (eq. 8)
        self.mapping = layer_map(t.num_hidden_layers, s.num_hidden_layers)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> DistillationOutput:
        with torch.no_grad():
            t_out = self.teacher(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        s_out = self.student(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        token = attention_mask.bool()  # (B, T) real tokens
        pair = (token[:, None, :, None] & token[:, None, None, :]).float()  # (B, 1, T, T) real (query, key)
        n_heads = self.student.config.num_attention_heads

        attention_loss = input_ids.new_zeros((), dtype=torch.float32)
        for s_layer, t_layer in enumerate(self.mapping):
            with torch.no_grad():
                t_scores = attention_scores(self.teacher, t_out.hidden_states, t_layer)
            s_scores = attention_scores(self.student, s_out.hidden_states, s_layer)
            attention_loss = attention_loss + ((s_scores - t_scores) ** 2 * pair).sum() / (pair.sum() * n_heads)

        # hidden_states[0] is the embedding output; hidden_states[l + 1] is layer l's output.
        hidden_pairs = [(0, 0)] + [(s + 1, t + 1) for s, t in enumerate(self.mapping)]
        n_values = token.sum() * self.teacher.config.hidden_size
        hidden_loss = attention_loss.new_zeros(())
        for s_index, t_index in hidden_pairs:
            diff = self.W_h(s_out.hidden_states[s_index]) - t_out.hidden_states[t_index]  # (B, T, C_teacher)
            hidden_loss = hidden_loss + (diff**2 * token[..., None]).sum() / n_values
        return DistillationOutput(attention_loss, hidden_loss, s_out.last_hidden_state, t_out.last_hidden_state)


def distill_student(
    teacher: BertModel,
    tokenizer: PreTrainedTokenizerBase,
    corpus: TokenizedCorpus,
    shape: BertShape,
    config: DistillConfig,
    max_length: int,
    seed: int,
    device: torch.device,
    on_step: Callable[[int, float, float], None] | None = None,
) -> BertModel:
    """A randomly initialised student of ``shape`` trained on the teacher's layers."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed + 1)
    student_config = bert_config(shape, tokenizer, max_length)
    student_config.max_position_embeddings = teacher.config.max_position_embeddings
    distillation = GeneralDistillation(teacher.to(device), BertModel(student_config, add_pooling_layer=False)).to(device)
    trainable = [p for p in distillation.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=0.01)
    total = steps_for(len(corpus), config.batch_size, config.epochs)
    schedule = get_linear_schedule_with_warmup(optimizer, math.ceil(config.warmup_ratio * total), total)
    distillation.student.train()
    with tqdm(total=total, desc="TinyBERT general distillation", unit="batch") as bar:
        for step, indices in enumerate(epoch_batches(corpus, config.batch_size, config.epochs, generator)):
            batch = {k: v.to(device) for k, v in pad_batch(tokenizer, [corpus.input_ids[i] for i in indices]).items()}
            out = distillation(batch["input_ids"], batch["attention_mask"])
            attention_loss, hidden_loss = out.attention_loss, out.hidden_loss
            loss = attention_loss + hidden_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            schedule.step()
            bar.update(1)
            bar.set_postfix(att=f"{attention_loss.item():.3f}", hid=f"{hidden_loss.item():.3f}")
            if on_step:
                on_step(step, attention_loss.item(), hidden_loss.item())
    return distillation.student.eval()

"""``FieldEncoder``: one fixed-size vector per field text key.

Pooling is the mean of the last layer over the text's real tokens. [CLS] is never trained
for a sentence-level task here (no next-sentence prediction, no fine-tuning of the encoder),
while the mean of token states is a robust sentence embedding (Reimers & Gurevych 2019) and
keeps every word of a short POI name in the vector.

Invariant: a text's embedding depends only on the text and the model version, never on the
batch it is encoded in (its neighbours, their lengths, the padding, the batch size). Padded
keys are masked out of attention, positions start at 0 for every text and pads are left out
of the mean, so a text alone and the same text in any batch give the same vector up to float
rounding (tested to 1e-5). The embedding cache rests on it: each key is encoded once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import transformers
from torch import nn
from tqdm.auto import tqdm
from transformers import BertModel, PreTrainedTokenizerBase

from ml.text.tokenizer import load_tokenizer


class FieldEmbedder(nn.Module):
    """BERT encoder + masked mean pooling: (input_ids, attention_mask) -> (B, C)."""

    def __init__(self, bert: BertModel) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, C)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)  # (B, C)


class FieldEncoder:
    """A tokenizer and a ``FieldEmbedder`` that encode lists of field text keys."""

    def __init__(self, bert: BertModel, tokenizer: PreTrainedTokenizerBase, max_length: int) -> None:
        self.embedder = FieldEmbedder(bert).eval()
        self.tokenizer = tokenizer
        self.max_length = max_length

    @classmethod
    def from_pretrained(
        cls, path: str | Path, max_length: int | None = None, attn_implementation: str | None = None
    ) -> "FieldEncoder":
        """An encoder saved with ``save_pretrained`` (weights, config and tokenizer in one directory).

        ``attn_implementation="eager"`` for ONNX export: the onnxruntime optimizer fuses the
        explicit softmax attention, not the SDPA graph.
        """
        tokenizer = load_tokenizer(Path(path))
        bert = BertModel.from_pretrained(
            str(path), local_files_only=True, add_pooling_layer=False, attn_implementation=attn_implementation
        )
        return cls(bert, tokenizer, max_length or tokenizer.model_max_length)

    @property
    def dim(self) -> int:
        return self.embedder.bert.config.hidden_size

    def save_pretrained(self, path: str | Path) -> None:
        transformers.utils.logging.disable_progress_bar()  # one "writing shards" bar per save is noise
        self.embedder.bert.save_pretrained(str(path))
        self.tokenizer.save_pretrained(str(path))

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Padded ids and the tokenizer's own attention mask (BETO pads with id 1, not 0)."""
        encoded = self.tokenizer(
            list(texts), truncation=True, max_length=self.max_length, padding="longest", return_tensors="pt"
        )
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}

    @torch.no_grad()
    def encode(
        self, texts: Sequence[str], batch_size: int = 256, progress: str | None = None, device: torch.device | None = None
    ) -> np.ndarray:
        """(len(texts), dim) float32, in the order given.

        Texts are encoded in order of length so each batch carries little padding; by the
        invariant above, the order does not change any vector.
        """
        if not texts:  # a user-month without any field text
            return np.zeros((0, self.dim), dtype=np.float32)
        device = device or torch.device("cpu")
        self.embedder.to(device)
        lengths = [len(ids) for ids in self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]]
        order = np.argsort(lengths, kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        for start in tqdm(starts, desc=progress, unit="batch", disable=progress is None):
            index = order[start : start + batch_size]
            batch = {k: v.to(device) for k, v in self.tokenize([texts[i] for i in index]).items()}
            out[index] = self.embedder(**batch).float().cpu().numpy()
        return out

    def seconds_per_text(self, texts: Sequence[str], batch_size: int, repeats: int = 3) -> float:
        """Median wall time to encode ``texts`` at ``batch_size``, per text."""
        timings = []
        for _ in range(repeats):
            start = time.perf_counter()
            self.encode(texts, batch_size=batch_size)
            timings.append(time.perf_counter() - start)
        return float(np.median(timings)) / max(1, len(texts))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

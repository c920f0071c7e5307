"""Tokenised corpora and length-bucketed batches for MLM pretraining and distillation.

Field texts range from "oxxo" to 30-token addresses. Batches of similar lengths waste little
compute on padding, which matters on a 2-core CPU. Padding and attention masks come from the
tokenizer (``tokenizer.pad``), never from ``ids != 0``: BETO's pad id is 1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase


@dataclass
class TokenizedCorpus:
    """Token ids (with [CLS]/[SEP]) and word indices of every text, unpadded."""

    input_ids: list[list[int]]
    word_ids: list[list[int | None]]  # word of each token; None for special tokens

    def __len__(self) -> int:
        return len(self.input_ids)


def tokenize_corpus(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int) -> TokenizedCorpus:
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)
    return TokenizedCorpus(
        input_ids=[list(ids) for ids in encoded["input_ids"]],
        word_ids=[encoded.word_ids(i) for i in range(len(texts))],
    )


def bucketed_batches(lengths: Sequence[int], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Indices of every item once, in batches of similar length, in a random order.

    Shuffle, cut into windows of 50 batches, sort each window by length, batch it, then
    shuffle the batches: close to random, with little padding.
    """
    order = torch.randperm(len(lengths), generator=generator).tolist()
    window = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]


def pad_batch(tokenizer: PreTrainedTokenizerBase, input_ids: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
    """``input_ids`` and ``attention_mask`` tensors, padded to the longest by the tokenizer."""
    padded = tokenizer.pad({"input_ids": [list(ids) for ids in input_ids]}, padding="longest", return_tensors="pt")
    return {"input_ids": padded["input_ids"], "attention_mask": padded["attention_mask"]}


def epoch_batches(
    corpus: TokenizedCorpus, batch_size: int, epochs: float, generator: torch.Generator
) -> Iterator[list[int]]:
    """Batches for ``epochs`` passes (fractions allowed: the last pass stops early)."""
    lengths = [len(ids) for ids in corpus.input_ids]
    total = steps_for(len(corpus), batch_size, epochs)
    produced = 0
    while produced < total:
        for batch in bucketed_batches(lengths, batch_size, generator):
            if produced == total:
                return
            produced += 1
            yield batch


def steps_for(n_items: int, batch_size: int, epochs: float) -> int:
    per_epoch = -(-n_items // batch_size)
    return max(1, round(per_epoch * epochs))

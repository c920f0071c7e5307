"""The teacher: a local BERT checkpoint (BETO in production), or a BERT pretrained from scratch.

Without a checkpoint the teacher is pretrained with masked language modelling on the
distinct field texts of the training months (domain-adaptive pretraining), masking whole
words: "casa de [MASK] [MASK]" teaches more than guessing "##eño" from "emp".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch
import transformers
from torch import nn
from tqdm.auto import tqdm
from transformers import (
    AutoConfig,
    BertConfig,
    BertForMaskedLM,
    BertModel,
    PreTrainedTokenizerBase,
    get_linear_schedule_with_warmup,
)

from ml.configs import BertShape, MlmConfig
from ml.text.batches import TokenizedCorpus, epoch_batches, pad_batch, steps_for
from ml.text.tokenizer import load_tokenizer

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


class TeacherCheckpointError(ValueError):
    """A teacher checkpoint that is missing or is not a BERT encoder the distillation can read."""


def load_teacher_checkpoint(path: str | Path) -> tuple[BertModel, PreTrainedTokenizerBase]:
    """A BERT encoder and its own tokenizer from a local directory; the hub is never called."""
    path = Path(path)
    if not path.is_dir():
        raise TeacherCheckpointError(f"teacher checkpoint {path}: no such directory")
    found = sorted(p.name for p in path.iterdir())
    if not (path / "config.json").is_file():
        raise TeacherCheckpointError(f"teacher checkpoint {path}: no config.json (found {found})")
    config = AutoConfig.from_pretrained(str(path), local_files_only=True)
    architectures = getattr(config, "architectures", None) or []
    if config.model_type != "bert" or getattr(config, "is_decoder", False):
        raise TeacherCheckpointError(
            f"teacher checkpoint {path}: found model_type={config.model_type!r} "
            f"(architectures {architectures}, is_decoder={getattr(config, 'is_decoder', False)}); "
            "the teacher must be a BERT encoder (model_type 'bert') so its attention scores can be distilled"
        )
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        raise TeacherCheckpointError(f"teacher checkpoint {path}: no weights ({' or '.join(WEIGHT_FILES)}); found {found}")
    try:
        tokenizer = load_tokenizer(path)
    except (OSError, ValueError, TypeError) as error:
        raise TeacherCheckpointError(f"teacher checkpoint {path}: its tokenizer does not load ({error}); found {found}")
    # A BertForMaskedLM checkpoint has an MLM head the encoder does not use: not worth a warning.
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        model = BertModel.from_pretrained(str(path), local_files_only=True, add_pooling_layer=False)
    finally:
        transformers.logging.set_verbosity(verbosity)
    check_attention_readable(model, path)
    return model.eval(), tokenizer


def check_attention_readable(model: nn.Module, where: str | Path) -> None:
    """The distillation reads each layer's query and key projections; fail early if absent."""
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    if not layers or not all(hasattr(layer.attention, "self") for layer in layers):
        raise TeacherCheckpointError(f"teacher {where}: no BERT self-attention layers found in {type(model).__name__}")
    for i, layer in enumerate(layers):
        if not (hasattr(layer.attention.self, "query") and hasattr(layer.attention.self, "key")):
            raise TeacherCheckpointError(f"teacher {where}: layer {i} has no query/key projections")


def bert_config(shape: BertShape, tokenizer: PreTrainedTokenizerBase, max_length: int) -> BertConfig:
    """A BERT of ``shape`` over ``tokenizer``'s vocabulary, positions up to ``max_length``."""
    return BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden_size,
        num_hidden_layers=shape.num_hidden_layers,
        num_attention_heads=shape.num_attention_heads,
        intermediate_size=shape.intermediate_size,
        max_position_embeddings=max(max_length, 64),
        pad_token_id=tokenizer.pad_token_id,
        type_vocab_size=2,
    )


def whole_word_mask(
    input_ids: list[int], word_ids: list[int | None], probability: float, whole_words: bool, generator: torch.Generator
) -> list[bool]:
    """Which tokens to mask: a share of the words (all their sub-words), at least one."""
    units: dict[object, list[int]] = {}
    for position, word in enumerate(word_ids):
        if word is not None:
            units.setdefault(word if whole_words else position, []).append(position)
    groups = list(units.values())
    masked = [False] * len(input_ids)
    if not groups:
        return masked
    n_mask = max(1, round(len(groups) * probability))
    for g in torch.randperm(len(groups), generator=generator)[:n_mask].tolist():
        for position in groups[g]:
            masked[position] = True
    return masked


def mlm_batch(
    tokenizer: PreTrainedTokenizerBase,
    corpus: TokenizedCorpus,
    indices: list[int],
    config: MlmConfig,
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """A padded batch with BERT's 80/10/10 corruption of the chosen tokens; labels -100 elsewhere."""
    batch = pad_batch(tokenizer, [corpus.input_ids[i] for i in indices])
    input_ids = batch["input_ids"]
    labels = torch.full_like(input_ids, -100)
    for row, i in enumerate(indices):
        chosen = whole_word_mask(
            corpus.input_ids[i], corpus.word_ids[i], config.mask_probability, config.whole_word_masking, generator
        )
        for position, is_masked in enumerate(chosen):
            if not is_masked:
                continue
            labels[row, position] = input_ids[row, position]
            roll = torch.rand(1, generator=generator).item()
            if roll < 0.8:
                input_ids[row, position] = tokenizer.mask_token_id
            elif roll < 0.9:
                input_ids[row, position] = int(torch.randint(len(tokenizer), (1,), generator=generator))
    return {"input_ids": input_ids, "attention_mask": batch["attention_mask"], "labels": labels}


def pretrain_teacher(
    tokenizer: PreTrainedTokenizerBase,
    corpus: TokenizedCorpus,
    shape: BertShape,
    config: MlmConfig,
    max_length: int,
    seed: int,
    device: torch.device,
    on_step: Callable[[int, float], None] | None = None,
) -> BertModel:
    """Masked-LM pretraining from scratch; returns the encoder (the MLM head is training-only)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = BertForMaskedLM(bert_config(shape, tokenizer, max_length)).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.01)
    total = steps_for(len(corpus), config.batch_size, config.epochs)
    schedule = get_linear_schedule_with_warmup(optimizer, math.ceil(config.warmup_ratio * total), total)
    loss_fn = nn.CrossEntropyLoss()
    with tqdm(total=total, desc="teacher masked-LM pretraining", unit="batch") as bar:
        for step, indices in enumerate(epoch_batches(corpus, config.batch_size, config.epochs, generator)):
            batch = {k: v.to(device) for k, v in mlm_batch(tokenizer, corpus, indices, config, generator).items()}
            hidden = model.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            is_target = batch["labels"] != -100
            # The vocabulary projection only on masked positions: about 7x less work than on all.
            logits = model.cls(hidden[is_target])  # (n_masked, vocab)
            loss = loss_fn(logits, batch["labels"][is_target])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
            if on_step:
                on_step(step, loss.item())
    return model.bert.eval()

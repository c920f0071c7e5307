"""Model profiles: the one home of every model, training and distillation setting.

A profile is a YAML file (``demo.yaml``, ``production.yaml`` beside this module, or any
path) read into the dataclasses below. Unknown keys are errors, so a typo in a profile
fails loudly instead of silently training with a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROFILE_DIR = Path(__file__).resolve().parent


@dataclass
class BertShape:
    """The size of a BERT encoder built from scratch (teacher without checkpoint, student)."""

    num_hidden_layers: int = 4
    hidden_size: int = 312
    num_attention_heads: int = 12
    intermediate_size: int = 1200


@dataclass
class TokenizerConfig:
    vocab_size: int = 8000  # WordPiece vocabulary trained on the corpus (no teacher checkpoint)
    min_frequency: int = 2  # a sub-word needs this many occurrences to enter the vocabulary
    max_length: int = 32  # tokens per field text, [CLS] and [SEP] included; longer texts are cut


@dataclass
class MlmConfig:
    """Domain-adaptive masked-LM pretraining of a teacher without checkpoint."""

    epochs: float = 3.0  # passes over the distinct training-month field texts
    batch_size: int = 128
    learning_rate: float = 5e-4
    warmup_ratio: float = 0.06
    mask_probability: float = 0.15  # share of words (whole-word masking) or tokens masked
    whole_word_masking: bool = True  # mask every sub-word of a chosen word together


@dataclass
class DistillConfig:
    """TinyBERT general distillation (Jiao et al. 2020, stage one)."""

    epochs: float = 3.0
    batch_size: int = 128
    learning_rate: float = 5e-4
    warmup_ratio: float = 0.06


@dataclass
class EncoderConfig:
    """Tokenizer, teacher and student of the field-text encoder."""

    teacher_checkpoint: str | None = None  # local BERT checkpoint directory; None = pretrain from scratch
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    teacher: BertShape = field(default_factory=lambda: BertShape(12, 768, 12, 3072))  # from-scratch shape
    mlm: MlmConfig = field(default_factory=MlmConfig)
    student: BertShape = field(default_factory=BertShape)
    distill: DistillConfig = field(default_factory=DistillConfig)
    encode_batch_size: int = 256  # texts per forward pass when embedding the distinct field texts
    device: str = "auto"  # auto = cuda when torch sees a GPU, else cpu


@dataclass
class Profile:
    name: str = "custom"
    seed: int = 42
    encoder: EncoderConfig = field(default_factory=EncoderConfig)


def _build(cls: type, data: Any, where: str) -> Any:
    """``data`` (parsed YAML) as an instance of dataclass ``cls``, rejecting unknown keys."""
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping for {cls.__name__}, found {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown} for {cls.__name__}; known: {sorted(known)}")
    values = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, value, f"{where}.{name}")
        else:
            values[name] = _coerce(hint, value, f"{where}.{name}")
    return cls(**values)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    """Check a scalar against its annotation; YAML reads 5e-4 as a string, so floats are parsed."""
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None:
        if type(None) in allowed:
            return None
        raise ValueError(f"{where}: must not be null")
    for kind in allowed:
        if kind is float and isinstance(value, (int, float, str)) and not isinstance(value, bool):
            try:
                return float(value)
            except ValueError:
                continue
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind in (str, bool) and isinstance(value, kind):
            return value
    raise ValueError(f"{where}: {value!r} is not a valid {hint}")


def resolve_device(name: str) -> "torch.device":
    """``auto``: the GPU when torch sees one (production distillation), else the CPU."""
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def load_profile(name_or_path: str | Path) -> Profile:
    """A profile by name (``demo``, ``production``: files beside this module) or by YAML path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"model profile {str(name_or_path)!r} not found (looked for {path}); known: {known}")
    return _build(Profile, yaml.safe_load(path.read_text()), str(path))


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    """The profile as plain data, saved into every artifact so a model says how it was made."""
    return dataclasses.asdict(profile)

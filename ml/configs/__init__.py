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

if typing.TYPE_CHECKING:  # torch is imported where a device is resolved, not with every profile
    import torch

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
class CreditModelConfig:
    """Fusion Transformer + PLE + towers (``ml.model.credit_model``)."""

    text_proj_dim: int = 32  # each field vector after the learned projection: what the embedding cache stores
    d_model: int = 64  # width of record tokens, the numeric token and the fusion Transformer
    n_heads: int = 4
    n_layers: int = 2  # Transformer blocks over [numeric token, records]
    ff_mult: int = 2  # MLP width in a block, as a multiple of d_model
    dropout: float = 0.1
    categorical_dim: int = 8  # embedding width of each categorical feature
    cell_buckets: int = 4096  # hashed geohash-6 cells of the records (0 = no cell)
    readout_folds: int = 5  # user folds of the stacked text scores when the training window has one month (ml.dataset.cross_fitting_folds)
    readout_ridge: float = 3.0e-3  # its ridge penalty, per row, on standardised field means
    lexical_buckets: int = 65536  # hashed word-piece pairs of the lexical read-out (ml.model.lexical)
    lexical_ridge_risk: float = 1.0  # the lexical read-out's ridge penalties (scikit-learn's alpha), per task; risk on its pooled bag
    lexical_ridge_age: float = 0.3
    lexical_ridge_income: float = 1.0
    ple_levels: int = 2  # CGC extraction levels
    experts_shared: int = 2  # shared experts per level
    experts_per_task: int = 2  # task-specific experts per task and level
    expert_hidden: int = 64
    tower_hidden: int = 32


@dataclass
class FitConfig:
    """The training loop of every credit model (teacher-side, student-side, no-text)."""

    epochs: int = 20  # at most; early stopping on the validation month decides
    patience: int = 3  # epochs without a better validation score before stopping
    batch_size: int = 256
    learning_rate: float = 2.0e-3
    weight_decay: float = 1.0e-4
    wide_learning_rate: float = 1.0e-2  # the per-category output terms (``WideCategorical``): Adam moves a weight by about the rate a step
    distill_alpha: float = 0.5  # student risk/age loss: alpha x labels + (1 - alpha) x teacher soft predictions
    distill_temperature: float = 2.0  # softens the age distributions the student matches
    init_student_from_teacher: bool = True  # start the student-side head from the trained teacher-side head
    distill_epochs: int | None = None  # the student-side model's epochs at most (None: ``epochs``): it starts trained
    ema_decay: float = 0.0  # > 0: validate and keep an exponential moving average of the weights


@dataclass
class GbmConfig:
    """One LightGBM per task (risk, age, income), early-stopped on the validation month."""

    num_leaves: int = 31
    learning_rate: float = 0.05
    n_estimators: int = 600  # at most; early stopping on the validation month
    min_child_samples: int = 40
    early_stopping_rounds: int = 40


@dataclass
class TreeScoreConfig(GbmConfig):
    """The trees whose scores every credit model reads (``ml.tree_scores``).

    Not ``gbm_stats``'s settings: scoring runs these trees for every user-month, so they are
    fewer and larger (a higher rate, more leaves). docs/model-experiments.md, "Fewer, larger trees".
    """

    num_leaves: int = 63
    learning_rate: float = 0.1


@dataclass
class BaselineConfig(GbmConfig):
    """LightGBM baselines (gbm_stats, gbm_text) on the same split and users."""

    tfidf_word_max_features: int = 20000  # word 1-2 grams of the user-month's field texts
    tfidf_char_max_features: int = 30000  # character 3-5 grams (within words)


@dataclass
class EvaluationConfig:
    bootstrap_samples: int = 1000  # paired bootstrap resamples of the test users for every comparison
    thin_file_records: int = 10  # fewer ride and delivery records than this: a thin file (ml.evaluate.record_segments)
    base_points: float = 600.0  # risk points at base_odds (good:bad)
    base_odds: float = 19.0
    pdo: float = 50.0  # points to double the odds


@dataclass
class Profile:
    name: str = "custom"
    seed: int = 42
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    model: CreditModelConfig = field(default_factory=CreditModelConfig)
    fit: FitConfig = field(default_factory=FitConfig)
    tree_scores: TreeScoreConfig = field(default_factory=TreeScoreConfig)
    baselines: BaselineConfig = field(default_factory=BaselineConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)


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

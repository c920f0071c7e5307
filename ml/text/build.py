"""Build the field-text encoder of one model version: tokenizer, teacher, student, report.

Output, under the model artifact's ``encoder/`` directory::

    teacher/              save_pretrained: config, weights, tokenizer
    student/              save_pretrained: config, weights, the teacher's tokenizer
    encoder_report.json   parameters, ratio, encode time per text, corpus, losses, wall times
    encoder_losses.png    the masked-LM and distillation loss curves
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ml.configs import EncoderConfig, resolve_device
from ml.text.batches import tokenize_corpus
from ml.text.distill import distill_student, layer_map
from ml.text.encoder import FieldEncoder, parameter_count
from ml.text.teacher import load_teacher_checkpoint, pretrain_teacher
from ml.text.tokenizer import train_wordpiece

TIMING_TEXTS = 2000  # texts encoded by both teacher and student for the speed comparison


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_encoder(
    corpus: list[str],
    config: EncoderConfig,
    seed: int,
    out_dir: Path,
    novelty: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Tokenizer + teacher + TinyBERT general distillation; returns the report (also saved)."""
    seed_everything(seed)
    device = resolve_device(config.device)
    max_length = config.tokenizer.max_length
    out_dir.mkdir(parents=True, exist_ok=True)
    walls: dict[str, float] = {}
    curves: dict[str, list[float]] = {"mlm": [], "attention_loss": [], "hidden_loss": []}

    started = time.perf_counter()
    if config.teacher_checkpoint:
        teacher, tokenizer = load_teacher_checkpoint(config.teacher_checkpoint)
        teacher_source = f"checkpoint {config.teacher_checkpoint}"
    else:
        with tempfile.TemporaryDirectory() as scratch:
            tokenizer = train_wordpiece(corpus, config.tokenizer, Path(scratch))
        teacher = None
        teacher_source = "masked-LM pretraining from scratch on the corpus"
    walls["tokenizer_s"] = time.perf_counter() - started
    tokens = tokenize_corpus(tokenizer, corpus, max_length)

    started = time.perf_counter()
    if teacher is None:
        teacher = pretrain_teacher(
            tokenizer, tokens, config.teacher, config.mlm, max_length, seed, device,
            on_step=lambda step, loss: curves["mlm"].append(loss),
        )
    walls["teacher_s"] = time.perf_counter() - started

    started = time.perf_counter()

    def record(step: int, attention: float, hidden: float) -> None:
        curves["attention_loss"].append(attention)
        curves["hidden_loss"].append(hidden)

    student = distill_student(
        teacher, tokenizer, tokens, config.student, config.distill, max_length, seed, device, on_step=record
    )
    walls["distillation_s"] = time.perf_counter() - started

    teacher_encoder = FieldEncoder(teacher.cpu(), tokenizer, max_length)
    student_encoder = FieldEncoder(student.cpu(), tokenizer, max_length)
    for name, encoder in (("teacher", teacher_encoder), ("student", student_encoder)):
        shutil.rmtree(out_dir / name, ignore_errors=True)
        encoder.save_pretrained(out_dir / name)

    sample = corpus[:: max(1, len(corpus) // TIMING_TEXTS)][:TIMING_TEXTS]
    timing_batch = config.encode_batch_size
    teacher_s = teacher_encoder.seconds_per_text(sample, timing_batch)
    student_s = student_encoder.seconds_per_text(sample, timing_batch)
    n_teacher, n_student = parameter_count(teacher_encoder.embedder), parameter_count(student_encoder.embedder)
    lengths = np.array([len(ids) for ids in tokens.input_ids])
    report = {
        "teacher_source": teacher_source,
        "device": str(device),
        "corpus": {
            "distinct_texts": len(corpus),
            "tokens_per_text_mean": float(lengths.mean()),
            "tokens_per_text_p99": float(np.percentile(lengths, 99)),
            "truncated_share": float((lengths >= max_length).mean()),
            "vocab_size": len(tokenizer),
            "by_month": novelty or [],
        },
        "teacher": {"params": n_teacher, **_shape(teacher)},
        "student": {"params": n_student, **_shape(student)},
        "params_ratio": n_student / n_teacher,
        "layer_map": layer_map(teacher.config.num_hidden_layers, student.config.num_hidden_layers),
        "encode_seconds_per_text": {
            "teacher": teacher_s,
            "student": student_s,
            "speedup": teacher_s / student_s,
            "batch_size": timing_batch,
            "texts": len(sample),
            "threads": torch.get_num_threads(),
        },
        "final_loss": {name: float(np.mean(values[-20:])) for name, values in curves.items() if values},
        "wall_seconds": walls,
        "curves": curves,
    }
    (out_dir / "encoder_report.json").write_text(json.dumps(report, indent=2, default=str))
    plot_losses(curves, out_dir / "encoder_losses.png")
    return report


def _shape(model: torch.nn.Module) -> dict[str, int]:
    c = model.config
    return {
        "layers": c.num_hidden_layers,
        "hidden": c.hidden_size,
        "heads": c.num_attention_heads,
        "intermediate": c.intermediate_size,
        "vocab": c.vocab_size,
    }


GENERAL_PANELS = (("teacher masked-LM loss", ("mlm",)), ("TinyBERT general distillation", ("attention_loss", "hidden_loss")))


def plot_losses(
    curves: dict[str, list[float]], path: Path, panels: tuple[tuple[str, tuple[str, ...]], ...] = GENERAL_PANELS
) -> None:
    """One panel per (title, curve names); curves that were not recorded are left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(title, [n for n in names if curves.get(n)]) for title, names in panels]
    panels = [(title, names) for title, names in panels if names]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 3.6), squeeze=False)
    for ax, (title, names) in zip(axes[0], panels):
        for name in names:
            values = np.asarray(curves[name])
            (raw,) = ax.plot(values, alpha=0.25, linewidth=0.8)
            window = max(1, len(values) // 50)
            smooth = np.convolve(values, np.ones(window) / window, mode="valid")
            ax.plot(np.arange(window - 1, len(values)), smooth, label=name, linewidth=1.6, color=raw.get_color())
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_yscale("log")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

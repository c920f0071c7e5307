"""``python -m ml.train``: train a model version on the curated dbt tables.

Stages (each timed and shown with a progress bar):

1. read the marts through Spark (same profile and target as dbt) and split out of time; the tree
   scores every credit model reads (``ml.tree_scores``: LightGBM on the numeric features and
   categoricals, cross-fitted by training month);
2. the field-text encoder: tokenizer, teacher, TinyBERT general distillation (``ml.text``);
3. embed every distinct field key once with the teacher and with the student;
4. the text read-outs, cross-fitted by training month: each encoder's vectors (``ml.model.readout``) and
   the keys' word pieces (``ml.model.lexical``);
5. the teacher-side credit model (fusion + PLE on teacher embeddings), then the student-side
   model distilled from its predictions (TinyBERT's task-specific stage), then the no-text model;
   each one's risk probability Platt-calibrated on the validation month;
6. LightGBM baselines (gbm_stats, gbm_text) and the generator's oracle (evaluation only);
7. metrics.json with paired bootstrap intervals;
8. report.html, the artifact and its manifest, the ONNX export and its parity gate.

Example::

    python -m ml.train --config demo --target local
    python -m ml.train --config production --teacher /models/beto-uncased --out artifacts/models
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from rich.console import Console
from rich.table import Table
from safetensors.torch import save_file

from ml import evaluate
from ml.artifacts import DEFAULT_ROOT, point_latest, write_manifest
from ml.baselines import run_baselines, stacked_tree_scores
from ml.configs import Profile, load_profile, profile_to_dict
from ml.dataset import cross_fitting_folds, labels_of, model_inputs, read_training_data
from ml.model.calibration import calibration_summary, fit_platt
from ml.model.credit_model import CreditModel, InputDims
from ml.model import lexical
from ml.model.fit import KeyTable, Predictions, fit, key_tokens, predict
from ml.model.readout import CrossFitted, cross_fit, field_bags, label_targets, slot_fields, user_readout
from ml.preprocessing import PointsScale, pooled_slot_weights
from ml.text.build import build_encoder, seed_everything
from ml.text.corpus import novelty_by_month, training_corpus
from ml.text.encoder import FieldEncoder
from ml.tree_scores import TREES_DIR
from ml.warehouse import read_table

console = Console(stderr=True)
NEURAL = ("teacher", "student", "no_text")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ml.train",
        description=__doc__.split("\n\n")[0] + ": encoder, credit models, baselines, report and artifact.",
        epilog="example: python -m ml.train --config demo --target local",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", default="demo", help="model profile: demo, production, or a YAML path (default demo)")
    parser.add_argument("--target", default=None, help="profiles/profiles.yml target (default: DBT_TARGET or the profile's default)")
    parser.add_argument("--teacher", default=None, help="local BERT checkpoint directory to distil (overrides the profile)")
    parser.add_argument("--encoder", default=None, help="reuse the encoder/ directory of an earlier model instead of building one")
    parser.add_argument("--out", default=str(DEFAULT_ROOT), help=f"where model versions go (default {DEFAULT_ROOT})")
    parser.add_argument("--seed", type=int, default=None, help="random seed (overrides the profile)")
    parser.add_argument("--no-export", action="store_true", help="skip the ONNX export and its parity gate")
    return parser.parse_args(argv)


def resolve_profile(args: argparse.Namespace) -> Profile:
    profile = load_profile(args.config)
    if args.teacher:
        profile = replace(profile, encoder=replace(profile.encoder, teacher_checkpoint=args.teacher))
    if args.seed is not None:
        profile = replace(profile, seed=args.seed)
    return profile


class Stages:
    """Wall time of each stage, printed as it finishes."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, name: str, fn, *a, **kw):
        console.rule(f"[bold]{name}")
        started = time.perf_counter()
        result = fn(*a, **kw)
        self.seconds[name] = round(time.perf_counter() - started, 1)
        console.print(f"[green]{name}[/green] done in {self.seconds[name]:.1f} s")
        return result


def embed_keys(encoder_dir: Path, keys: list[str], batch_size: int, name: str) -> torch.Tensor:
    """The embedding table of every key: row 0 is the zero vector ("no text"), row i + 1 key i."""
    encoder = FieldEncoder.from_pretrained(encoder_dir)
    vectors = encoder.encode(keys, batch_size=batch_size, progress=f"embedding {len(keys):,} field keys with the {name}")
    return torch.from_numpy(np.vstack([np.zeros((1, vectors.shape[1]), np.float32), vectors]))


def scored(pred: Predictions) -> evaluate.ScoredModel:
    return evaluate.ScoredModel(pred.risk_prob, pred.age_prob, pred.income)


def train(args: argparse.Namespace) -> Path:
    """Build a model version in ``<out>/.building-<version>`` and move it into place only when complete."""
    profile = resolve_profile(args)
    seed_everything(profile.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    version = f"{time.strftime('%Y%m%d-%H%M%S')}-{profile.name}-seed{profile.seed}"
    root = Path(args.out)
    work = root / f".building-{version}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        return _train(args, profile, version, root, work)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)  # no half-built model is ever left where scoring could find it
        raise


def _train(args: argparse.Namespace, profile: Profile, version: str, root: Path, work: Path) -> Path:
    stages = Stages()

    # 1. data ---------------------------------------------------------------------------------
    from ml.spark_session import release_driver_heap, spark_session

    def read_all():
        spark = spark_session(args.target)
        spark.sparkContext.setLogLevel("ERROR")
        points = PointsScale(profile.evaluation.base_points, profile.evaluation.base_odds, profile.evaluation.pdo)
        data = read_training_data(spark, profile.model.cell_buckets, points)
        corpus, novelty = training_corpus(spark), novelty_by_month(spark)
        truth = read_table(spark, "raw_oracle.truth").where(
            f"dt = '{data.splits['test'].months[0]}'"
        ).toPandas() if spark.catalog.tableExists("raw_oracle.truth") else None
        release_driver_heap(spark)
        return data, corpus, novelty, truth

    data, corpus, novelty, truth = stages.run("read curated tables", read_all)
    prep = data.preprocessing
    prep.save(work / "preprocessing.json")
    (work / "profile.json").write_text(json.dumps(profile_to_dict(profile), indent=2))
    frames = {name: split.frame for name, split in data.splits.items()}
    labels = {name: labels_of(frame) for name, frame in frames.items()}
    folds = cross_fitting_folds(frames["train"], profile.model.readout_folds, profile.seed)  # every stacked score's

    # the tree scores every credit model reads, cross-fitted by month (ml.tree_scores)
    trees, tree_scores = stages.run(
        "tree scores (cross-fitted by month)", stacked_tree_scores, frames, prep, folds, profile.tree_scores, profile.seed
    )
    trees.save(work / TREES_DIR)
    inputs = {name: model_inputs(frame, prep, data.text_keys, tree_scores[name]) for name, frame in frames.items()}
    inputs["train"].fold = folds  # the same folds for every read-out

    # 2. encoder -------------------------------------------------------------------------------
    encoder_dir = work / "encoder"
    if args.encoder:
        shutil.copytree(args.encoder, encoder_dir)
        encoder_report = json.loads((encoder_dir / "encoder_report.json").read_text())
        stages.seconds["field-text encoder"] = 0.0
    else:
        encoder_report = stages.run("field-text encoder", build_encoder, corpus, profile.encoder, profile.seed, encoder_dir, novelty)

    # 3. embeddings ----------------------------------------------------------------------------
    encoders = {name: encoder_dir / name for name in ("teacher", "student")}
    batch = profile.encoder.encode_batch_size
    tables = stages.run(
        "embed distinct field keys",
        lambda: {name: embed_keys(path, data.text_keys, batch, name) for name, path in encoders.items()},
    )

    # 4. text read-outs, cross-fitted by training month -----------------------------------------
    student_encoder = FieldEncoder.from_pretrained(encoders["student"])  # its tokenizer is every encoder's
    tokens, vocab_size = key_tokens(student_encoder, data.text_keys), len(student_encoder.tokenizer)
    del student_encoder
    slots = prep.text_slots(frames["train"])
    slot_field = slot_fields(slots[1], slots[2], prep.sequence_length)
    slot_key = pd.Index(data.text_keys).get_indexer(slots[3]) + 1

    def fit_readouts() -> tuple[dict[str, CrossFitted], CrossFitted, np.ndarray, np.ndarray]:
        targets = label_targets(frames["train"])
        vector = {}
        for name, table in tables.items():
            bags = field_bags(slots[0], slot_field, slot_key, table.numpy(), len(frames["train"]))
            vector[name] = cross_fit(bags, targets, folds, profile.model.readout_ridge)
        ids, mask = tokens["input_ids"].numpy(), tokens["attention_mask"].numpy()
        in_training = np.zeros(len(ids), bool)
        in_training[np.unique(slot_key)] = True  # the vocabulary of the lexical read-out: the training months' keys
        idf = lexical.fit_idf(ids[in_training], mask[in_training], vocab_size, profile.model.lexical_buckets)
        keys = lexical.key_matrix(ids, mask, idf, vocab_size, profile.model.lexical_buckets)
        bags = lexical.field_bags(slots[0], slot_field, slot_key, keys, len(frames["train"]))
        pooled = lexical.pooled_bags(slots[0], slot_key, keys, len(frames["train"]))
        m = profile.model
        fitted = lexical.cross_fit(
            bags, pooled, targets, folds, [m.lexical_ridge_risk, m.lexical_ridge_age, m.lexical_ridge_income]
        )
        return vector, fitted, idf, keys @ fitted.full.weight

    readouts, lexical_readout, idf, key_lexical = stages.run("text read-outs (ridge, cross-fitted by month)", fit_readouts)

    def readout_alone(name: str, split: str) -> np.ndarray:
        """What the texts alone say: the read-out of ``split``'s user-months, as (N, 6); ``lexical``: of the word pieces."""
        rows, records, slots_, keys = prep.text_slots(frames[split])
        position = pd.Index(data.text_keys).get_indexer(keys) + 1
        fields = slot_fields(records, slots_, prep.sequence_length)
        if name == "lexical":
            full, n = lexical_readout.full, len(frames[split])
            return user_readout(rows, fields, key_lexical[position], full.bias, n, pooled_slot_weights(rows, position, n))
        full = readouts[name].full
        return user_readout(rows, fields, tables[name].numpy()[position] @ full.weight, full.bias, len(frames[split]))

    # 5. credit models -------------------------------------------------------------------------
    dims = InputDims.from_preprocessing(prep)
    models: dict[str, CreditModel] = {}
    results, predictions = {}, {}

    def train_one(
        name: str, table: torch.Tensor | None, splits: tuple[str, ...], teacher: Predictions | None = None,
        init: CreditModel | None = None, epochs: int | None = None,
    ):
        """Fit one credit model, calibrate its risk on the validation month (``ml.model.calibration``), and predict
        ``splits`` only: what distillation, evaluation and the report read."""
        model = CreditModel(profile.model, dims, None if table is None else table.shape[1], vocab_size)
        if init is not None:  # everything but what reads the encoder's own width: projection and read-out
            state = {k: v for k, v in init.state_dict().items()
                     if not k.startswith(("text_proj.", "readout_", "risk_calibration"))}  # its own calibration comes after its fit
            model.load_state_dict(state, strict=False)
        keys = None
        if table is not None:
            model.set_readout(readouts[name], lexical_readout, idf)
            keys = KeyTable.build(model, table, tokens, readouts[name], lexical_readout)
        console.print(f"{name}: {model.num_params():,} parameters")
        config = profile.fit if epochs is None else replace(profile.fit, epochs=epochs)
        result = fit(model, inputs["train"], labels["train"], inputs["valid"], labels["valid"], keys, config,
                     profile.seed, name, teacher=teacher)
        models[name], results[name] = model, result
        valid = predict(model, inputs["valid"], keys)  # before calibration: its raw logits are what Platt scaling fits
        platt = fit_platt(valid.risk_logit, labels["valid"].risk)
        model.set_risk_calibration(*platt)
        predictions[name] = {
            split: replace(valid, risk_calibration=platt) if split == "valid" else predict(model, inputs[split], keys)
            for split in splits
        }

    # the teacher's training-row predictions teach the student; the student's every split feed the
    # report's score distribution per month; the rest is evaluated on the test month only
    stages.run("teacher-side credit model", train_one, "teacher", tables["teacher"], ("train", "test"))
    stages.run(
        "student-side credit model (task-specific distillation)", train_one, "student", tables["student"],
        tuple(inputs), teacher=predictions["teacher"]["train"],
        init=models["teacher"] if profile.fit.init_student_from_teacher else None, epochs=profile.fit.distill_epochs,
    )
    stages.run("no-text credit model", train_one, "no_text", None, ("test",))

    # 6. baselines and oracle -------------------------------------------------------------------
    inputs.clear()  # the credit models have predicted what is read: their inputs' memory goes to the TF-IDF
    del corpus
    baselines = stages.run(
        "LightGBM baselines", run_baselines, frames, prep, data.text_keys, folds, profile.baselines, profile.seed
    )

    # 7. evaluation -----------------------------------------------------------------------------
    test_labels = evaluate.TestLabels.of(frames["test"])
    scored_models = {name: scored(predictions[name]["test"]) for name in NEURAL}
    for name, by_split in baselines.items():
        p = by_split["test"]
        scored_models[name] = evaluate.ScoredModel(p.risk_prob, p.age_prob, p.income)
    if truth is not None:
        scored_models.update(evaluate.oracle_models(frames["test"], truth, prep))

    def risk_calibration(test: Predictions) -> dict[str, Any]:
        """A model's Platt scaling, fitted on the validation month, and what it does on the test month."""
        slope, intercept = test.risk_calibration
        return {"slope": slope, "intercept": intercept, "fitted_on": data.splits["valid"].months,
                "test": calibration_summary(test.risk_logit, labels["test"].risk, slope, intercept)}

    def build_metrics() -> dict[str, Any]:
        scores = {name: evaluate.model_metrics(m, test_labels, prep) for name, m in scored_models.items()}
        comparisons = {
            f"student - {other}": evaluate.compare(
                scored_models["student"], scored_models[other], test_labels, profile.evaluation.bootstrap_samples, profile.seed
            )
            for other in ("teacher", "no_text", "gbm_stats", "gbm_text")
        }
        params = {name: encoder_report[name]["params"] for name in ("teacher", "student")}
        return {
            "version": version,
            "profile": profile.name,
            "seed": profile.seed,
            "split": {name: split.months for name, split in data.splits.items()},
            "row_counts": data.row_counts,
            "models": scores,
            "comparisons": comparisons,
            "bootstrap_samples": profile.evaluation.bootstrap_samples,
            "distillation": {
                "teacher_params": params["teacher"],
                "student_params": params["student"],
                "ratio": params["student"] / params["teacher"],
                "retention": evaluate.retention(scores),
                "encoder_seconds_per_text": encoder_report["encode_seconds_per_text"],
            },
            "segments": {  # the same figures on parts of the test month, student - gbm_text with its interval
                "by_records": evaluate.segment_metrics(
                    evaluate.record_segments(frames["test"], profile.evaluation.thin_file_records), scored_models,
                    test_labels, prep, profile.evaluation.bootstrap_samples, profile.seed,
                ),
                "by_label_history": evaluate.segment_metrics(
                    evaluate.label_history_segments(frames["test"], [frames["train"], frames["valid"]]), scored_models,
                    test_labels, prep, profile.evaluation.bootstrap_samples, profile.seed,
                ),
            },
            "text_readout_alone": {  # each ridge read-out of the field texts: no numbers, no sequence
                name: evaluate.readout_metrics(readout_alone(name, "test"), test_labels, prep) for name in (*tables, "lexical")
            },
            "risk_vs_oracle_observable": (
                (scores["student"]["risk"]["auc"] - 0.5) / (scores["oracle_observable"]["risk"]["auc"] - 0.5)
                if "oracle_observable" in scores else None
            ),
            "training": {
                name: {"best_epoch": r.best_epoch, "epochs_run": len(r.history), "seconds": round(r.seconds, 1),
                       "final_task_weights": r.history[-1]["task_weights"], "history": r.history}
                for name, r in results.items()
            },
            "gate_utilisation": {name: predictions[name]["test"].gate_usage for name in NEURAL},
            "risk_calibration": {name: risk_calibration(predictions[name]["test"]) for name in NEURAL},
            "text_novelty_by_month": novelty,
            "points_scale": asdict(prep.points),
        }

    metrics = stages.run("evaluate on the test month (paired bootstrap)", build_metrics)

    # 8. artifact --------------------------------------------------------------------------------
    def save_artifact() -> None:
        head = work / "head"
        head.mkdir()
        for name, model in models.items():
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, head / f"{name}.safetensors")
        (head / "model.json").write_text(json.dumps({
            "config": asdict(profile.model),
            "dims": asdict(dims),
            "text_dim": {name: model.text_dim for name, model in models.items()},
            "vocab_size": vocab_size,
            "encoder": {name: path.relative_to(work).as_posix() for name, path in encoders.items()},
        }, indent=2))
        risk_by_month = {}
        for split in ("train", "valid", "test"):
            frame, prob = frames[split], predictions["student"][split].risk_prob
            for month in data.splits[split].months:
                risk_by_month[month] = prob[(frame.dt == month).to_numpy()]
        from ml.report import write_report

        write_report(
            work / "report.html", metrics, scored_models, test_labels, prep, risk_by_month,
            {name: r.history for name, r in results.items()}, predictions["student"]["test"].gate_usage,
            profile.model.experts_per_task, [encoder_dir / "encoder_losses.png"],
        )

    stages.run("write report and artifact", save_artifact)
    if not args.no_export:
        from ml.export import export_model

        stages.run("ONNX export, int8 quantisation, parity gate", export_model, work, frames["test"], metrics, frames["valid"])
    metrics["stage_seconds"] = stages.seconds
    (work / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
    write_manifest(work)
    final = root / version
    os.replace(work, final)
    point_latest(final)
    print_summary(final, metrics)
    return final


def print_summary(model_dir: Path, metrics: dict[str, Any]) -> None:
    table = Table(title=f"test month {metrics['split']['test'][0]}")
    for column in ("model", "risk AUC", "KS", "age acc", "age macro-F1", "income MAE", "income Spearman"):
        table.add_column(column, justify="right")
    for name, s in metrics["models"].items():
        table.add_row(
            name, f"{s['risk']['auc']:.4f}", f"{s['risk']['ks']:.4f}", f"{s['age']['accuracy']:.4f}",
            f"{s['age']['macro_f1']:.4f}", f"{s['income']['mae_mxn']:,.0f}", f"{s['income']['spearman']:.4f}",
        )
    console.print(table)
    retention = metrics["distillation"]["retention"]
    console.print(
        f"retention risk {retention['risk']:.3f}, age {retention['age']:.3f}, income {retention['income']:.3f}; "
        f"student vs oracle_observable (AUC - 0.5 ratio): {metrics['risk_vs_oracle_observable'] or float('nan'):.3f}"
    )
    console.print(f"model: [bold]{model_dir}[/bold] (also {model_dir.parent / 'latest'})")
    console.print(f"report: {model_dir / 'report.html'}; metrics: {model_dir / 'metrics.json'}")
    console.print("next: `dbt run --select scores` scores every month with this model")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        train(args)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        console.print(f"[red]error:[/red] {error}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

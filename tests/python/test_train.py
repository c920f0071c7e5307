"""`python -m ml.train` end to end on the tiny test population: real Spark tables, torch, LightGBM."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import TINY_PROFILE

pytestmark = pytest.mark.slow
MODELS = ("student", "teacher", "no_text", "gbm_stats", "gbm_text", "oracle", "oracle_observable")
METRIC_KEYS = {"risk": {"auc", "ks", "gini"}, "age": {"accuracy", "macro_f1"}, "income": {"mae_mxn", "spearman"}}


@pytest.fixture(scope="module")
def trained(tiny_model) -> Path:
    return tiny_model.parent


def _without_timings(value):
    if isinstance(value, dict):
        skip = ("seconds", "stage_seconds", "version", "encoder_seconds_per_text", "export")
        return {k: _without_timings(v) for k, v in value.items() if k not in skip}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_artifact_has_every_part_and_a_valid_manifest(trained) -> None:
    from ml.artifacts import verify_manifest

    latest = trained / "latest"
    assert latest.is_symlink() and latest.resolve().parent == trained.resolve()
    model = latest.resolve()
    for part in ("onnx/text_encoder.int8.onnx", "onnx/head.int8.onnx", "onnx/scoring.json", "encoder/teacher/config.json", "encoder/student/tokenizer.json", "encoder/encoder_report.json",
                 "head/student.safetensors", "head/teacher.safetensors", "head/no_text.safetensors", "head/model.json",
                 "preprocessing.json", "profile.json", "metrics.json", "report.html"):
        assert (model / part).is_file(), part
    verify_manifest(model)
    recorded = json.loads((model / "manifest.json").read_text())["files"]
    assert "metrics.json" in recorded and "encoder/student/model.safetensors" in recorded
    report = (model / "report.html").read_text()
    assert report.count("data:image/png;base64,") >= 9  # every plot, the encoder's and the segments' included
    assert "Segments of the test month" in report and "10+ records" in report and "labelled before" in report



def test_manifest_refuses_tampered_missing_and_extra_files(trained, tmp_path) -> None:
    import shutil

    from ml.artifacts import ManifestError, verify_manifest

    for case in ("tampered", "missing", "extra"):
        model = tmp_path / case
        shutil.copytree((trained / "latest").resolve(), model)
        if case == "tampered":
            with (model / "onnx" / "head.int8.onnx").open("ab") as handle:
                handle.write(b"\0")
            expected = "file onnx/head.int8.onnx has sha256"
        elif case == "missing":
            (model / "preprocessing.json").unlink()
            expected = "file preprocessing.json is in the manifest but missing"
        else:
            (model / "head" / "student_v2.safetensors").write_bytes(b"x")
            expected = "file head/student_v2.safetensors is not in the manifest"
        with pytest.raises(ManifestError, match=expected):
            verify_manifest(model)


def test_a_head_from_another_code_version_is_refused_by_name(trained, tmp_path) -> None:
    import shutil

    from safetensors.torch import load_file, save_file

    from ml.export import ExportError, load_head

    model = tmp_path / "older"
    shutil.copytree((trained / "latest").resolve() / "head", model / "head")
    assert load_head(model).wide.terms[0].weight.shape[1] == 6  # the copy loads as it is
    state = load_file(model / "head" / "student.safetensors")
    state["ple_v2.weight"] = state.pop("wide.terms.0.weight")  # as a head saved before the wide part, with a new key
    save_file(state, model / "head" / "student.safetensors")
    with pytest.raises(ExportError, match=r"student\.safetensors does not match .*missing \['wide\.terms\.0\.weight'\].*"
                       r"unexpected \['ple_v2\.weight'\].*python -m ml\.train"):
        load_head(model)


def test_a_nan_quantization_scale_fails_the_export_check(trained, tmp_path) -> None:
    import numpy as np
    import onnx
    from onnx import numpy_helper

    from ml.export import ExportError, check_quantization

    onnx_dir = (trained / "latest").resolve() / "onnx"
    for name in ("text_encoder.int8.onnx", "head.int8.onnx"):
        check_quantization(onnx_dir / name)  # what the export kept passes
    model = onnx.load(str(onnx_dir / "head.int8.onnx"))
    scale = next(i for i in model.graph.initializer if i.name.endswith("_scale"))
    scale.CopyFrom(numpy_helper.from_array(np.full_like(numpy_helper.to_array(scale), np.nan), scale.name))
    onnx.save(model, str(tmp_path / "head.int8.onnx"))
    with pytest.raises(ExportError, match=f"head.int8.onnx keeps non-finite .*{scale.name}"):
        check_quantization(tmp_path / "head.int8.onnx")


def test_export_passes_the_parity_gate_with_the_fusions(trained) -> None:
    from ml.export import parity_limits

    metrics = json.loads(((trained / "latest").resolve() / "metrics.json").read_text())
    export = metrics["export"]
    assert export["opset"] >= 17
    assert export["parity_gate"]["passed"]
    for op in ("SkipLayerNormalization",):
        assert export["fused_operators"].get(op, 0) > 0
    assert any(export["fused_operators"].get(op, 0) for op in ("Attention", "MultiHeadAttention"))
    assert any(export["fused_operators"].get(op, 0) for op in ("Gelu", "FastGelu", "BiasGelu"))
    gate = export["parity_gate"]
    assert gate["limits"] == parity_limits(gate["age_users"])
    assert parity_limits(5_000) == {"risk_auc": 0.005, "age_accuracy": 0.005, "income_spearman": 0.005}
    assert parity_limits(100)["age_accuracy"] == pytest.approx(0.01)  # only a small test month widens age, to one user-month
    assert gate["drop_vs_torch"]["onnx_fp32"]["risk_auc"] <= 1e-6  # fp32 ONNX is the torch model
    for precision in ("onnx_fp32", "onnx_int8"):
        drops = gate["drop_vs_torch"][precision]
        assert all(drops[m] <= gate["limits"][m] for m in ("risk_auc", "age_accuracy", "income_spearman"))
    assert export["bytes"]["text_encoder.int8.onnx"] < export["bytes"]["text_encoder.fp32.onnx"]


def test_metrics_json_has_every_key(trained) -> None:
    metrics = json.loads(((trained / "latest").resolve() / "metrics.json").read_text())
    assert set(metrics["models"]) == set(MODELS)
    for name in MODELS:
        for task, keys in METRIC_KEYS.items():
            assert set(metrics["models"][name][task]) == keys, (name, task)
            assert all(pd.notna(v) for v in metrics["models"][name][task].values()), (name, task)
    d = metrics["distillation"]
    assert {"teacher_params", "student_params", "ratio", "retention"} <= set(d)
    assert set(d["retention"]) == {"risk", "age", "income"}
    assert d["student_params"] < d["teacher_params"]
    for pair in ("student - teacher", "student - no_text", "student - gbm_stats", "student - gbm_text"):
        for metric in ("risk_auc", "age_macro_f1", "income_spearman"):
            c = metrics["comparisons"][pair][metric]
            assert c["ci95_low"] <= c["difference"] <= c["ci95_high"] and isinstance(c["excludes_zero"], bool)
    assert metrics["split"]["train"] and len(metrics["split"]["valid"]) == len(metrics["split"]["test"]) == 1
    assert metrics["split"]["valid"][0] < metrics["split"]["test"][0]
    assert max(metrics["split"]["train"]) < metrics["split"]["valid"][0]
    for split in ("train", "valid", "test"):
        assert metrics["row_counts"][split]["risk_label"] > 0
    assert metrics["seed"] == 7 and metrics["stage_seconds"]["teacher-side credit model"] > 0
    assert set(metrics["text_readout_alone"]) == {"teacher", "student", "lexical"}
    # each segmentation splits the test month's labelled users without losing or repeating one
    labelled = {"risk": "risk_label", "age": "age_bucket", "income": "income_label"}
    for segments in metrics["segments"].values():
        for task, column in labelled.items():
            assert sum(s["users"][task] for s in segments.values()) == metrics["row_counts"]["test"][column], task
        for segment in segments.values():
            assert set(segment["models"]) == {"student", "teacher", "no_text", "gbm_stats", "gbm_text"}
            assert set(segment["student - gbm_text"]) == {"risk_auc", "age_macro_f1", "income_spearman"}
    for name in ("student", "teacher", "no_text"):
        c = metrics["risk_calibration"][name]
        assert c["fitted_on"] == metrics["split"]["valid"] and c["slope"] > 0
        assert c["test"]["users"] == metrics["row_counts"]["test"]["risk_label"]
    # the oracle sees the truth: nothing trained on data beats its risk AUC
    assert metrics["models"]["oracle"]["risk"]["auc"] >= metrics["models"]["oracle_observable"]["risk"]["auc"] - 0.02


def test_the_exported_head_scores_with_the_calibration_fitted_on_the_validation_month(trained, spark) -> None:
    """On the month it was fitted on, Platt scaling's mean probability is the observed overdue rate (maximum
    likelihood with an intercept); the fp32 graph, which scoring runs, reproduces it, so the graph applies it."""
    import numpy as np

    from ml.dataset import read_training_data
    from ml.export import load_head
    from ml.preprocessing import Preprocessing
    from ml.scoring import ScoringModel

    model = (trained / "latest").resolve()
    c = json.loads((model / "metrics.json").read_text())["risk_calibration"]["student"]
    assert load_head(model).risk_calibration.tolist() == pytest.approx([c["slope"], c["intercept"]])
    assert abs(c["slope"] - 1) + abs(c["intercept"]) > 1e-3  # a fit, not the identity it starts from
    prep = Preprocessing.load(model / "preprocessing.json")
    valid = read_training_data(spark, prep.cell_buckets, prep.points).splits["valid"].frame
    scorer = ScoringModel(model, 2, "text_encoder.fp32.onnx", "head.fp32.onnx", verify=False)
    scores = scorer.score(valid, scorer.key_vectors(sorted(set(prep.text_slots(valid)[3].tolist()))))
    has = valid.risk_label.notna().to_numpy()
    assert scores.risk_prob.to_numpy()[has].mean() == pytest.approx(valid.risk_label.to_numpy(np.float64)[has].mean(), abs=1e-4)
    assert np.allclose(scores.risk_points, prep.points.points(scores.risk_prob.to_numpy()))  # points read the calibrated one


def test_the_student_side_model_runs_its_own_epoch_budget(trained) -> None:
    """tiny_profile: epochs 2 for every credit model, distill_epochs 1 for the student, which starts trained."""
    training = json.loads(((trained / "latest").resolve() / "metrics.json").read_text())["training"]
    assert training["student"]["epochs_run"] == training["student"]["best_epoch"] == 1
    assert training["teacher"]["epochs_run"] == training["no_text"]["epochs_run"] == 2


def test_same_seed_and_data_reproduce_every_metric(trained, tmp_path) -> None:
    from ml.train import main

    assert main(["--config", str(TINY_PROFILE), "--out", str(tmp_path), "--no-export"]) == 0
    first = json.loads(((trained / "latest").resolve() / "metrics.json").read_text())
    second = json.loads(((tmp_path / "latest").resolve() / "metrics.json").read_text())
    assert _without_timings(first) == _without_timings(second)


def test_missing_table_names_the_dbt_command(spark) -> None:
    from ml.warehouse import MissingTableError, read_table

    with pytest.raises(MissingTableError, match=r"features.no_such_table does not exist .*dbt build --select \+no_such_table"):
        read_table(spark, "features.no_such_table")


def test_too_few_labelled_users_in_a_split_is_an_error() -> None:
    from ml.dataset import split_out_of_time

    frame = pd.DataFrame({
        "dt": ["2026-01-01"] * 60 + ["2026-02-01"] * 60 + ["2026-03-01"] * 60,
        "is_train": [True] * 60 + [False] * 120,
        "user_id": [f"u{i}" for i in range(180)],
        "risk_label": [1.0] * 180,
        "age_bucket": [1.0] * 180,
        "income_label": [0.1] * 150 + [None] * 30,
    })
    with pytest.raises(ValueError, match=r"split test \(months \['2026-03-01'\]\) has 30 users with income_label"):
        split_out_of_time(frame)
    with pytest.raises(ValueError, match="needs training months and two later months"):
        split_out_of_time(frame[frame.dt < "2026-03-01"])

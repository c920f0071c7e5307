"""``python -m ml.export``: the student encoder and the credit head to ONNX, optimised, int8, gated.

Run at the end of ``python -m ml.train`` and on its own (``--model DIR``). Steps:

1. export ``text_encoder`` (student BERT + mean pooling + the head's ``project_text``, its
   projection and the scores of both text read-outs, the lexical one computed from the token
   ids: ``input_ids, attention_mask -> field_vector``) and
   ``head`` (fusion + PLE + towers on the field vectors and the tree scores -> ``risk_prob, age_prob, income``)
   with opset 17;
2. optimise the encoder with ``onnxruntime.transformers`` and check that the Attention,
   SkipLayerNormalization and Gelu fusions are present;
3. int8: the encoder with dynamic quantisation (``quantize_dynamic``), every BERT weight (the
   final projection to the cached vector and the lexical read-out's lookups stay fp32,
   ``output_matmuls`` and ``lexical_gathers``); the head's
   per-record layers (``token_matmuls`` says why not the rest) with *static* quantisation
   (``quantize_static``, activation ranges calibrated on the validation month). Dynamic
   quantisation scales activations by each run's own min/max, so a user-month's scores would
   depend on the other user-months of its Arrow batch, and a backfill of one month would not
   reproduce the full run; fixed scales make every row's score its own;
4. the parity gate on the test month: torch, fp32 ONNX and int8 ONNX scored by the same
   ``ml.scoring`` code the dbt models run. Risk AUC may drop at most 0.005, age accuracy at
   most 0.5 points, income Spearman at most 0.005; otherwise the export fails with the figures.

The ONNX files and ``scoring.json`` go to ``<model>/onnx/`` and join the manifest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
from onnx import numpy_helper
import pandas as pd
import torch
from safetensors.torch import load_file
from torch import nn

from ml import metrics as M
from ml.configs import CreditModelConfig
from ml.model.credit_model import CreditModel, InputDims
from ml.preprocessing import Preprocessing
from ml.scoring import HEAD_INPUTS, HEAD_OUTPUTS, ONNX_DIR, RECORD_AXIS_INPUTS, ScoringModel
from ml.text.encoder import FieldEncoder, FieldEmbedder
from ml.tree_scores import N_TREE_SCORES, TREES_DIR, TreeScores

if TYPE_CHECKING:  # ml.model.fit is the training side: imported only where a table is built
    from ml.model.fit import KeyTable

OPSET = 17
REQUIRED_FUSIONS = {"Attention": ("Attention", "MultiHeadAttention"), "SkipLayerNormalization": ("SkipLayerNormalization",),
                    "Gelu": ("Gelu", "FastGelu", "BiasGelu")}
PARITY_LIMITS = {"risk_auc": 0.005, "age_accuracy": 0.005, "income_spearman": 0.005}


class ExportError(RuntimeError):
    pass


class TextEncoderForExport(nn.Module):
    """(input_ids, attention_mask) -> the field vector the embedding cache stores: projection and read-out scores."""

    def __init__(self, embedder: FieldEmbedder, head: CreditModel) -> None:
        super().__init__()
        self.embedder, self.head = embedder, head

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        lexical = self.head.lexical_scores(input_ids, attention_mask)  # (B, F * 6)
        return self.head.project_text(self.embedder(input_ids, attention_mask), lexical)  # (B, r + 2 * F * 6)


class HeadForExport(nn.Module):
    """The credit model on projected field vectors, with probabilities as outputs.

    Each text slot comes in as a row of ``field_table`` (row 0: no key), the scoring worker's
    table of cached vectors, and the head gathers the rows itself.
    """

    def __init__(self, model: CreditModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, field_rows, field_weight, field_table, record_type, record_hour, record_payment, record_status,
                record_cell, record_numeric, numeric, categorical, tree_scores):
        record = {"record_type": record_type, "record_hour": record_hour, "record_payment": record_payment,
                  "record_status": record_status, "record_cell": record_cell, "record_numeric": record_numeric}
        field_vectors = field_table[field_rows]  # (B, T, S, r): a Gather, as training's F.embedding
        out = self.model(field_vectors, field_rows > 0, field_weight, record, numeric, categorical, tree_scores)
        return self.model.risk_probability(out.risk_logit), torch.softmax(out.age_logits, dim=-1), out.income


def encoder_dir(model_dir: Path, name: str = "student") -> Path:
    """The encoder the heads were trained on."""
    return model_dir / json.loads((model_dir / "head" / "model.json").read_text())["encoder"][name]


def load_head(model_dir: Path, name: str = "student") -> CreditModel:
    spec = json.loads((model_dir / "head" / "model.json").read_text())
    model = CreditModel(CreditModelConfig(**spec["config"]), InputDims(**spec["dims"]), spec["text_dim"][name], spec["vocab_size"])
    path = model_dir / "head" / f"{name}.safetensors"
    keys = model.load_state_dict(load_file(path), strict=False)  # torch lists what does not match
    if keys.missing_keys or keys.unexpected_keys:  # a head saved by another version of CreditModel: say so
        raise ExportError(
            f"{path} does not match this code's credit model (missing {sorted(keys.missing_keys) or 'nothing'}, "
            f"unexpected {sorted(keys.unexpected_keys) or 'nothing'}): it was trained by another version of ml/. "
            "Retrain with `python -m ml.train`; the model's existing onnx/ files still score with "
            "`dbt build --select tag:scoring`."
        )
    return model.eval()


def token_matmuls(path: Path) -> list[str]:
    """The head's MatMul nodes with a weight operand: the per-record layers, where its compute is.

    The per-user layers (numeric token, PLE experts and gates, towers) export as Gemm on (B, D)
    inputs: a few thousand multiply-adds per user, and the most sensitive to int8 (a gate or a
    32-wide tower shifts visibly), so they stay in fp32. Attention's activation x activation
    products are not weights and stay fp32 too.
    """
    graph = onnx.load(str(path)).graph
    constants = {i.name for i in graph.initializer} | {n.output[0] for n in graph.node if n.op_type == "Constant"}
    return [n.name for n in graph.node if n.op_type == "MatMul" and n.input[1] in constants]


def lexical_gathers(path: Path) -> list[str]:
    """The Gather nodes of the lexical read-out (its IDF and per-feature weights): a lookup, no compute to save,
    and int8 would round the small weights of rare word pieces to zero."""
    graph = onnx.load(str(path)).graph
    lexical = {i.name for i in graph.initializer if "lexical" in i.name}
    return [n.name for n in graph.node if n.op_type == "Gather" and n.input[0] in lexical]


def output_matmuls(path: Path, output: str) -> list[str]:
    """The MatMul nodes that compute ``output`` directly (through Add and Concat): the encoder's last projections.

    They map the pooled vector to the key's projection and read-out scores, a (d, r + 24)
    product per key, once per key: int8 would save nothing measurable there, and the read-out
    scores are sums over many slots that rounding would bias.
    """
    graph = onnx.load(str(path)).graph
    producer = {o: n for n in graph.node for o in n.output}
    found, todo = [], [output]
    while todo:
        node = producer.get(todo.pop())
        if node is None:
            continue
        if node.op_type == "MatMul":
            found.append(node.name)
        elif node.op_type in ("Add", "Concat"):
            todo.extend(node.input)
    return found


def _sample_head_inputs(prep: Preprocessing, r: int, batch: int = 2) -> dict[str, torch.Tensor]:
    T, S = prep.n_records, prep.n_slots
    sample = {
        "field_rows": torch.zeros(batch, T, S, dtype=torch.long), "field_weight": torch.zeros(batch, T, S),
        "field_table": torch.zeros(3, r),
        **{k: torch.zeros(batch, T, dtype=torch.long) for k in ("record_type", "record_hour", "record_payment", "record_status", "record_cell")},
        "record_numeric": torch.zeros(batch, T, 3),
        "numeric": torch.zeros(batch, len(prep.numeric_features)),
        "categorical": torch.zeros(batch, len(prep.categorical_cardinalities), dtype=torch.long),
        "tree_scores": torch.zeros(batch, N_TREE_SCORES),
    }
    sample["record_type"][:, 0] = 1
    return sample


class HeadCalibration:
    """``onnxruntime.quantization.CalibrationDataReader`` over user-months, in head-sized batches."""

    def __init__(self, model_dir: Path, frame: pd.DataFrame) -> None:
        scorer = ScoringModel(model_dir, 2, "text_encoder.int8.onnx", "head.fp32.onnx", verify=False)
        keys = sorted(set(scorer.preprocessing.text_slots(frame)[3].tolist()))
        self._feeds = (feed for _, feed in scorer.head_feeds(frame, scorer.key_vectors(keys)))

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def export_onnx(model_dir: Path, calibration_frame: pd.DataFrame) -> dict[str, Any]:
    """fp32 and int8 ONNX of the text encoder and the head; returns the fusion counts."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.transformers.optimizer import optimize_model

    out = model_dir / ONNX_DIR
    out.mkdir(exist_ok=True)
    prep = Preprocessing.load(model_dir / "preprocessing.json")
    encoder = FieldEncoder.from_pretrained(encoder_dir(model_dir), attn_implementation="eager")
    head = load_head(model_dir)
    text = TextEncoderForExport(encoder.embedder, head).eval()
    sample = encoder.tokenize(["casa de empeno centro", "oxxo"])
    raw = out / "text_encoder.raw.onnx"
    torch.onnx.export(
        text, (sample["input_ids"], sample["attention_mask"]), str(raw), dynamo=False, opset_version=OPSET,
        input_names=["input_ids", "attention_mask"], output_names=["field_vector"],
        dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}, "field_vector": {0: "batch"}},
    )
    bert = encoder.embedder.bert.config
    optimized = optimize_model(str(raw), model_type="bert", num_heads=bert.num_attention_heads, hidden_size=bert.hidden_size)
    fused = optimized.get_fused_operator_statistics()
    missing = [name for name, ops in REQUIRED_FUSIONS.items() if not any(fused.get(op, 0) for op in ops)]
    if missing:
        raise ExportError(f"onnxruntime.transformers optimizer did not fuse {missing} in the text encoder; fused: {fused}")
    optimized.save_model_to_file(str(out / "text_encoder.fp32.onnx"))
    raw.unlink()
    # Shape inference cannot type the outputs of the fused com.microsoft ops: they are float.
    float_outputs = {"DefaultTensorType": onnx.TensorProto.FLOAT}
    quantize_dynamic(
        out / "text_encoder.fp32.onnx", out / "text_encoder.int8.onnx", weight_type=QuantType.QInt8, extra_options=float_outputs,
        nodes_to_exclude=output_matmuls(out / "text_encoder.fp32.onnx", "field_vector") + lexical_gathers(out / "text_encoder.fp32.onnx"),
    )

    inputs = _sample_head_inputs(prep, head.field_dim)
    dynamic = {name: {0: "batch"} for name in (*HEAD_INPUTS, *HEAD_OUTPUTS)}
    dynamic.update({name: {0: "batch", 1: "records"} for name in RECORD_AXIS_INPUTS})
    dynamic["field_table"] = {0: "keys"}  # a run's records (real ones first) and the worker's vector table vary
    torch.onnx.export(
        HeadForExport(head).eval(), tuple(inputs[k] for k in HEAD_INPUTS), str(out / "head.fp32.onnx"), dynamo=False,
        opset_version=OPSET, input_names=list(HEAD_INPUTS), output_names=list(HEAD_OUTPUTS), dynamic_axes=dynamic,
    )
    tokenizer = encoder.tokenizer
    (out / "scoring.json").write_text(json.dumps({
        "opset": OPSET,
        "field_dim": head.field_dim,
        "max_length": encoder.max_length,
        "pad_token": tokenizer.pad_token,
        "pad_token_id": tokenizer.pad_token_id,
        "tokenizer": (encoder_dir(model_dir) / "tokenizer.json").relative_to(model_dir).as_posix(),
        "head_inputs": list(HEAD_INPUTS),
        "head_outputs": list(HEAD_OUTPUTS),
        "fused_operators": {k: int(v) for k, v in fused.items() if v},
    }, indent=2))
    quantize_static(
        out / "head.fp32.onnx", out / "head.int8.onnx", HeadCalibration(model_dir, calibration_frame),
        quant_format=QuantFormat.QOperator, nodes_to_quantize=token_matmuls(out / "head.fp32.onnx"),
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
    )
    return {k: int(v) for k, v in fused.items() if v}


def check_quantization(path: Path) -> None:
    """Every scale a quantized graph keeps is finite and positive: a NaN or zero scale scores garbage silently."""
    bad = {}
    for init in onnx.load(str(path)).graph.initializer:
        if init.name.endswith("_scale"):
            scale = numpy_helper.to_array(init).astype(np.float64)
            if not (np.isfinite(scale) & (scale > 0)).all():
                bad[init.name] = scale.ravel()[:3].tolist()
    if bad:
        raise ExportError(f"{path.name} keeps non-finite or non-positive quantization scales: {bad}")


def _gate_metrics(frame: pd.DataFrame, scores: pd.DataFrame, prep: Preprocessing) -> dict[str, float]:
    r, a, i = frame.risk_label.notna().to_numpy(), frame.age_bucket.notna().to_numpy(), frame.income_label.notna().to_numpy()
    return {
        "risk_auc": M.auc(frame.risk_label.to_numpy()[r], scores.risk_prob.to_numpy()[r]),
        "age_accuracy": M.accuracy(frame.age_bucket.to_numpy()[a].astype(int), scores.age_bucket.to_numpy()[a]),
        "income_spearman": M.spearman(frame.income_label.to_numpy()[i], scores.income_norm.to_numpy()[i]),
    }


def torch_key_table(encoder: FieldEncoder, head: CreditModel, keys: list[str], batch_size: int = 256) -> "KeyTable":
    """``keys`` as the torch head reads them (no cache, no ONNX): embeddings and lexical scores."""
    from ml.model.fit import KeyTable, key_tokens

    embeddings = encoder.encode(keys, batch_size=batch_size)
    table = torch.from_numpy(np.vstack([np.zeros((1, encoder.dim), np.float32), embeddings]))
    return KeyTable.build(head, table, key_tokens(encoder, keys))


def torch_scores(model_dir: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """The trained torch student on the same user-months, for the parity gate."""
    from ml.dataset import model_inputs
    from ml.model.fit import predict

    prep = Preprocessing.load(model_dir / "preprocessing.json")
    keys = sorted(set(prep.text_slots(frame)[3].tolist()))
    head = load_head(model_dir)
    inputs = model_inputs(frame, prep, keys, TreeScores.load(model_dir / TREES_DIR)(frame, prep))
    pred = predict(head, inputs, torch_key_table(FieldEncoder.from_pretrained(encoder_dir(model_dir)), head, keys))
    return pd.DataFrame({"risk_prob": pred.risk_prob, "age_bucket": pred.age_prob.argmax(1), "income_norm": pred.income})


def parity_limits(age_users: int) -> dict[str, float]:
    """``PARITY_LIMITS``, with age accuracy allowed one user-month's bucket flip.

    A flip moves accuracy by 1 / age_users: on a small test month (the test suite's ~100 users)
    one flip alone is past 0.5 points; from 200 users on the limit is ``PARITY_LIMITS``'s.
    """
    return dict(PARITY_LIMITS, age_accuracy=max(PARITY_LIMITS["age_accuracy"], 1.0 / max(1, age_users) + 1e-9))


def parity_gate(model_dir: Path, frame: pd.DataFrame, threads: int = 2) -> dict[str, Any]:
    """Torch vs fp32 ONNX vs int8 ONNX on the test month; raises ``ExportError`` past the limits."""
    prep = Preprocessing.load(model_dir / "preprocessing.json")
    keys = sorted(set(prep.text_slots(frame)[3].tolist()))
    figures = {"torch": _gate_metrics(frame, torch_scores(model_dir, frame), prep)}
    for precision in ("fp32", "int8"):
        onnx = ScoringModel(model_dir, threads, f"text_encoder.{precision}.onnx", f"head.{precision}.onnx", verify=False)
        figures[f"onnx_{precision}"] = _gate_metrics(frame, onnx.score(frame, onnx.key_vectors(keys)), prep)
    drops = {
        precision: {m: figures["torch"][m] - figures[precision][m] for m in PARITY_LIMITS}
        for precision in ("onnx_fp32", "onnx_int8")
    }
    age_users = int(frame.age_bucket.notna().sum())
    limits = parity_limits(age_users)
    failed = [f"{p} {m} drops {d:.4f} > {limits[m]:.4f}" for p, by in drops.items() for m, d in by.items() if d > limits[m]]
    gate = {"metrics": figures, "drop_vs_torch": drops, "limits": limits, "passed": not failed, "users": len(frame),
            "age_users": age_users}
    if failed:
        raise ExportError("parity gate failed on the test month: " + "; ".join(failed) + f"\n{json.dumps(figures, indent=2)}")
    return gate


def export_model(
    model_dir: Path, test_frame: pd.DataFrame, metrics: dict[str, Any], calibration_frame: pd.DataFrame
) -> dict[str, Any]:
    """Export, quantise (head calibrated on ``calibration_frame``) and gate on ``test_frame``; figures go into ``metrics['export']``."""
    with warnings.catch_warnings(), _quiet_root_logger():
        # The tracer's notes on shape-dependent Python branches (in transformers' mask code and the
        # attention scale) and the quantizer's pre-processing hint are expected; the gate checks the result.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        # The calibrator takes every tensor's range, the masked attention scores' too: their -inf
        # gives a NaN zero point for a tensor nothing quantizes. check_quantization says what was kept.
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning, "onnxruntime.quantization.quant_utils")
        fused = export_onnx(model_dir, calibration_frame)
    for name in ("text_encoder.int8.onnx", "head.int8.onnx"):
        check_quantization(model_dir / ONNX_DIR / name)
    gate = parity_gate(model_dir, test_frame)
    metrics["export"] = {"opset": OPSET, "fused_operators": fused, "parity_gate": gate,
                         "bytes": {p.name: p.stat().st_size for p in sorted((model_dir / ONNX_DIR).glob("*.onnx"))}}
    return metrics["export"]


@contextlib.contextmanager
def _quiet_root_logger():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ml.export",
        description="Export a trained model to ONNX (fp32 and int8), check the optimizer's fusions, run the parity gate "
        "on the test month and rewrite the model's manifest.",
        epilog="example: python -m ml.export --model artifacts/models/latest",
    )
    parser.add_argument("--model", default="artifacts/models/latest", help="model directory (default artifacts/models/latest)")
    parser.add_argument("--target", default=None, help="profiles/profiles.yml target to read the test month from")
    args = parser.parse_args(argv)
    from ml.artifacts import verify_manifest, write_manifest
    from ml.dataset import read_training_data
    from ml.spark_session import spark_session

    model_dir = Path(args.model).resolve()
    try:
        verify_manifest(model_dir)
        spark = spark_session(args.target)
        spark.sparkContext.setLogLevel("ERROR")
        prep = Preprocessing.load(model_dir / "preprocessing.json")
        data = read_training_data(spark, prep.cell_buckets, prep.points)
        metrics_path = model_dir / "metrics.json"
        metrics = json.loads(metrics_path.read_text())
        export = export_model(model_dir, data.splits["test"].frame, metrics, data.splits["valid"].frame)
        metrics_path.write_text(json.dumps(metrics, indent=2, default=float))
        write_manifest(model_dir)
    except (ExportError, RuntimeError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(export["parity_gate"]["metrics"], indent=2))
    print(f"exported {model_dir / ONNX_DIR}; parity gate passed; manifest rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())

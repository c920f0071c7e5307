"""Batch scoring with ONNX Runtime: the bodies the dbt Python models run through ``mapInPandas``.

Two steps, each a ``mapInPandas`` body:

- ``embed_text_batches``: distinct field text keys in, each key's projected vector out (the
  int8 ONNX text encoder: student BERT, mean pooling, the head's text projection). Only keys
  not yet in the cache for the model version reach it, so each key is encoded once;
- ``score_batches``: user-months in (features, sequences and the cached vectors of the keys
  in their records), risk, age and income out, from one run of the int8 ONNX head.

Each Python worker keeps one ``ScoringModel`` per model (keyed by the manifest's sha256), with
ONNX Runtime sessions whose intra-op threads equal ``spark.task.cpus``. The manifest is
verified before any session is created. This module imports neither the training code nor
the data generator: what it shares with training is ``ml.preprocessing`` and ``ml.artifacts``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ml.artifacts import verify_manifest
from ml.preprocessing import Preprocessing

ONNX_DIR = "onnx"
TEXT_ENCODER = "text_encoder.int8.onnx"
HEAD = "head.int8.onnx"
HEAD_INPUTS = (
    "field_vectors", "field_present", "record_type", "record_hour", "record_payment", "record_status",
    "record_cell", "record_numeric", "numeric", "categorical",
)
HEAD_OUTPUTS = ("risk_prob", "age_prob", "income")
MODEL_DIR_ENV = "RIDECREDIT_MODEL_DIR"
DEFAULT_MODEL_DIR = "artifacts/models/latest"

_LOADED: dict[tuple[str, int, str, str], "ScoringModel"] = {}


def resolve_model_dir(configured: str | None = None) -> Path:
    """The dbt var ``model_dir``, else ``RIDECREDIT_MODEL_DIR``, else ``artifacts/models/latest``; resolved."""
    path = Path(configured or os.environ.get(MODEL_DIR_ENV) or DEFAULT_MODEL_DIR).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"model directory {path} does not exist: train one with `python -m ml.train` "
            f"or point dbt var model_dir / {MODEL_DIR_ENV} at one"
        )
    return path.resolve()


class ScoringModel:
    """The ONNX text encoder and head of one verified model version."""

    def __init__(
        self, model_dir: str | Path, threads: int = 1, encoder_file: str = TEXT_ENCODER, head_file: str = HEAD, verify: bool = True
    ) -> None:
        """``verify=False`` only for the export's parity gate, which runs before the manifest is written."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir)
        self.model_sha256 = verify_manifest(self.model_dir) if verify else None  # before any session exists
        self.version = self.model_dir.name
        self.preprocessing = Preprocessing.load(self.model_dir / "preprocessing.json")
        spec = json.loads((self.model_dir / ONNX_DIR / "scoring.json").read_text())
        self.text_proj_dim = int(spec["text_proj_dim"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        self.encoder = ort.InferenceSession(str(self.model_dir / ONNX_DIR / encoder_file), options, providers=providers)
        self.head = ort.InferenceSession(str(self.model_dir / ONNX_DIR / head_file), options, providers=providers)
        self.tokenizer = Tokenizer.from_file(str(self.model_dir / spec["tokenizer"]))
        self.tokenizer.enable_truncation(int(spec["max_length"]))
        self.tokenizer.enable_padding(pad_id=int(spec["pad_token_id"]), pad_token=spec["pad_token"])

    @classmethod
    def cached(cls, model_dir: str | Path, threads: int = 1, encoder_file: str = TEXT_ENCODER, head_file: str = HEAD) -> "ScoringModel":
        """One instance per Python worker and model; re-verified (a hash of each file) on first use only."""
        from ml.artifacts import sha256

        path = Path(model_dir).resolve()
        key = (sha256(path / "manifest.json"), threads, encoder_file, head_file)
        if key not in _LOADED:
            _LOADED[key] = cls(path, threads, encoder_file, head_file)
        return _LOADED[key]

    def encode_keys(self, keys: list[str], batch_size: int = 256) -> np.ndarray:
        """(len(keys), r) float32: each key's vector as the head reads it. Sorted by length for speed."""
        out = np.zeros((len(keys), self.text_proj_dim), dtype=np.float32)
        order = np.argsort([len(k) for k in keys], kind="stable")
        for start in range(0, len(keys), batch_size):
            index = order[start : start + batch_size]
            encodings = self.tokenizer.encode_batch([keys[i] for i in index])
            feed = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            }
            out[index] = self.encoder.run(["field_vector"], feed)[0]
        return out

    def head_inputs(self, frame: pd.DataFrame, vectors: np.ndarray, key_index: pd.Index) -> dict[str, np.ndarray]:
        """The head's inputs for user-months ``frame``; key ``key_index[i]``'s vector is ``vectors[i]``."""
        prep = self.preprocessing
        rows, records, slots, keys = prep.text_slots(frame)
        position = key_index.get_indexer(keys)
        if (position < 0).any():
            raise KeyError(
                f"{int((position < 0).sum())} field keys have no cached vector for model {self.version}, e.g. "
                f"{keys[position < 0][:3].tolist()}: run `dbt run --select text_embedding_cache` first"
            )
        field_vectors = np.zeros((len(frame), prep.n_records, prep.n_slots, self.text_proj_dim), np.float32)
        field_present = np.zeros((len(frame), prep.n_records, prep.n_slots), np.float32)
        field_vectors[rows, records, slots] = vectors[position]
        field_present[rows, records, slots] = 1.0
        return {
            "field_vectors": field_vectors,
            "field_present": field_present,
            **prep.records(frame),
            "numeric": prep.numeric(frame),
            "categorical": prep.categorical(frame),
        }

    def head_feeds(
        self, frame: pd.DataFrame, vectors: np.ndarray, key_index: pd.Index, batch_size: int = 512
    ) -> Iterator[dict[str, np.ndarray]]:
        """The head's inputs in runs of ``batch_size`` user-months: what scoring runs and the export calibrates on."""
        for start in range(0, len(frame), batch_size):
            yield self.head_inputs(frame.iloc[start : start + batch_size], vectors, key_index)

    def score(self, frame: pd.DataFrame, vectors: np.ndarray, key_index: pd.Index, batch_size: int = 512) -> pd.DataFrame:
        """Risk probability and points, age-bucket probabilities and bucket, income (normalised and MXN)."""
        parts = [self.head.run(list(HEAD_OUTPUTS), feed) for feed in self.head_feeds(frame, vectors, key_index, batch_size)]
        risk = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.float32)
        age = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, 4), np.float32)
        income = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.float32)
        prep = self.preprocessing
        return pd.DataFrame({
            "risk_prob": risk.astype(np.float64),
            "risk_points": prep.points.points(risk),
            "age_bucket": age.argmax(axis=1).astype(np.int32),
            **{f"age_prob_{b}": age[:, b].astype(np.float64) for b in range(4)},
            "income_norm": income.astype(np.float64),
            "income_mxn": prep.income_mxn(income),
        })


# --- mapInPandas bodies ---------------------------------------------------------------------

CACHE_SCHEMA = "model_version string, text_key string, vector binary"
SCORE_SCHEMA = (
    "user_id string, dt string, model_version string, risk_prob double, risk_points double, age_bucket int, "
    "age_prob_0 double, age_prob_1 double, age_prob_2 double, age_prob_3 double, income_norm double, income_mxn double"
)
VECTOR_DTYPE = np.float16  # cached vectors: r float16 values (64 bytes at r = 32), exact enough for the head


def embed_text_batches(model_dir: str, threads: int) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """mapInPandas body: ``text_key`` in; ``model_version, text_key, vector`` (float16 bytes) out."""

    def body(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = ScoringModel.cached(model_dir, threads)
        for frame in batches:
            keys = frame["text_key"].tolist()
            vectors = model.encode_keys(keys).astype(VECTOR_DTYPE)
            yield pd.DataFrame({"model_version": model.version, "text_key": keys, "vector": [v.tobytes() for v in vectors]})

    return body


def score_batches(model_dir: str, threads: int) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """mapInPandas body: user-months with their records' cached vectors in; the three scores out.

    Each row carries ``text_vectors``: (text_key, vector) pairs of the distinct keys of its
    records, joined to the cache in Spark. The head runs once per user-month for all tasks.
    """

    def body(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = ScoringModel.cached(model_dir, threads)
        for frame in batches:
            frame = frame.reset_index(drop=True)
            keys, vectors = _batch_vectors(frame, model.text_proj_dim)
            scores = model.score(frame, vectors, keys)
            scores.insert(0, "model_version", model.version)
            scores.insert(0, "dt", frame["dt"].to_numpy())
            scores.insert(0, "user_id", frame["user_id"].to_numpy())
            yield scores

    return body


def _batch_vectors(frame: pd.DataFrame, dim: int) -> tuple[pd.Index, np.ndarray]:
    """The distinct keys of a batch and their cached vectors, from each row's (key, vector) pairs.

    A key without a cached vector is left out here, so ``head_inputs`` names it in its error.
    """
    lookup: dict[str, bytes] = {}
    for pairs in frame["text_vectors"]:
        if pairs is not None:
            lookup.update((pair["text_key"], pair["vector"]) for pair in pairs if pair["vector"] is not None)
    index = pd.Index(list(lookup), dtype=object)
    vectors = np.frombuffer(b"".join(lookup.values()), dtype=VECTOR_DTYPE).reshape(len(index), dim).astype(np.float32)
    return index, vectors

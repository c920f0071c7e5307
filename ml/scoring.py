"""Batch scoring with ONNX Runtime: the bodies the dbt Python models run through ``mapInPandas``.

Two steps, each a ``mapInPandas`` body:

- ``embed_text_batches``: distinct field text keys in, each key's projected vector out (the
  int8 ONNX text encoder: student BERT, mean pooling, the head's text projection). Only keys
  not yet in the cache for the model version reach it, so each key is encoded once;
- ``score_batches``: user-months in (features and sequences), risk, age and income out, from
  one run of the int8 ONNX head. The model version's cache reaches every Python worker as one
  Spark broadcast (``VectorTable``: 64 bytes a key), so user-months never shuffle their keys
  to meet it.

Each Python worker keeps one ``ScoringModel`` per model (keyed by the manifest's sha256), with
ONNX Runtime sessions whose intra-op threads equal ``spark.task.cpus``. The manifest is
verified before any session is created. Each key is encoded on its own (one ONNX run per key):
int8 dynamic quantization scales activations by each run's range, so a key encoded among
others would get a vector that depends on its neighbours; alone, its vector depends only on
the key and the model version, and it costs no more (no padding).

This module imports neither the training code nor the data generator: what it shares with
training is ``ml.preprocessing`` and ``ml.artifacts``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def _scoring_spec(model_dir: Path) -> dict[str, Any]:
    return json.loads((Path(model_dir) / ONNX_DIR / "scoring.json").read_text())


def text_proj_dim(model_dir: str | Path) -> int:
    """Width of a cached vector: what the head reads per field key."""
    return int(_scoring_spec(Path(model_dir))["text_proj_dim"])


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
        spec = _scoring_spec(self.model_dir)
        self.text_proj_dim = int(spec["text_proj_dim"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        self.encoder = ort.InferenceSession(str(self.model_dir / ONNX_DIR / encoder_file), options, providers=providers)
        self.head = ort.InferenceSession(str(self.model_dir / ONNX_DIR / head_file), options, providers=providers)
        self.tokenizer = Tokenizer.from_file(str(self.model_dir / spec["tokenizer"]))
        self.tokenizer.enable_truncation(int(spec["max_length"]))
        self.tokenizer.no_padding()  # keys run one at a time, never padded to a neighbour

    @classmethod
    def cached(cls, model_dir: str | Path, threads: int = 1, encoder_file: str = TEXT_ENCODER, head_file: str = HEAD) -> "ScoringModel":
        """One instance per Python worker and model; re-verified (a hash of each file) on first use only."""
        from ml.artifacts import sha256

        path = Path(model_dir).resolve()
        key = (sha256(path / "manifest.json"), threads, encoder_file, head_file)
        if key not in _LOADED:
            _LOADED[key] = cls(path, threads, encoder_file, head_file)
        return _LOADED[key]

    def encode_keys(self, keys: list[str]) -> np.ndarray:
        """(len(keys), r) float32: each key's vector as the head reads it, one ONNX run per key.

        Alone, a key's int8 vector is a function of the key and the model version only (see the
        module docstring); batching keys would make it depend on their neighbours.
        """
        out = np.zeros((len(keys), self.text_proj_dim), dtype=np.float32)
        for i, encoding in enumerate(self.tokenizer.encode_batch(list(keys))):
            feed = {
                "input_ids": np.array([encoding.ids], dtype=np.int64),
                "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
            }
            out[i] = self.encoder.run(["field_vector"], feed)[0][0]
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


@dataclass
class VectorTable:
    """One model version's cached vectors, as the driver broadcasts them to every Python worker."""

    version: str
    keys: np.ndarray  # (n,) object: text keys
    vectors: np.ndarray  # (n, r) float16

    @classmethod
    def from_cache(cls, cache: pd.DataFrame, version: str, dim: int) -> "VectorTable":
        """From the cache table's ``text_key, vector`` rows of ``version``."""
        vectors = np.frombuffer(b"".join(cache["vector"]), dtype=VECTOR_DTYPE).reshape(len(cache), dim)
        return cls(version, cache["text_key"].to_numpy(object), vectors)


_TABLES: dict[str, tuple[pd.Index, np.ndarray]] = {}


def _lookup(table: VectorTable) -> tuple[pd.Index, np.ndarray]:
    """The table's key index and float32 vectors, built once per Python worker and version."""
    if table.version not in _TABLES:
        _TABLES.clear()  # one model version per worker at a time
        _TABLES[table.version] = (pd.Index(table.keys, dtype=object), table.vectors.astype(np.float32))
    return _TABLES[table.version]


def score_batches(model_dir: str, threads: int, broadcast: Any) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """mapInPandas body: user-months in (features and sequences); the three scores out.

    ``broadcast`` holds the model version's ``VectorTable``; a record key missing from it is an
    error naming the key (``head_inputs``). The head runs once per user-month for all tasks.
    """

    def body(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = ScoringModel.cached(model_dir, threads)
        table: VectorTable = broadcast.value
        if table.version != model.version:
            raise ValueError(f"the broadcast vectors are of model {table.version}, the model is {model.version}")
        keys, vectors = _lookup(table)
        for frame in batches:
            frame = frame.reset_index(drop=True)
            scores = model.score(frame, vectors, keys)
            scores.insert(0, "model_version", model.version)
            scores.insert(0, "dt", frame["dt"].to_numpy())
            scores.insert(0, "user_id", frame["user_id"].to_numpy())
            yield scores

    return body

"""Batch scoring with ONNX Runtime: the bodies the dbt Python models run through ``mapInPandas``.

Two steps, each a ``mapInPandas`` body:

- ``embed_text_batches``: distinct field text keys in, each key's projected vector out (the
  int8 ONNX text encoder: student BERT, mean pooling, the head's text projection). Only keys
  not yet in the cache for the model version reach it, so each key is encoded once;
- ``score_batches``: user-months in (features and sequences), risk, age and income out, from
  the LightGBM trees' scores of the numeric features and categoricals (``ml.tree_scores``) and
  one run of the int8 ONNX head. The model version's cache reaches every Python worker as one
  Spark broadcast (``VectorTable``: 64 bytes a key), so user-months never shuffle their keys
  to meet it. The head gets each text slot as a row number of that table and gathers the
  vectors itself (with the slot's weight in the lexical risk bag, ``slot_weight_grid``), and each run holds user-months of similar record counts with the padding
  columns dropped (``head_feeds``).

Each Python worker keeps one ``ScoringModel`` per model (keyed by the manifest's sha256), with
ONNX Runtime sessions whose intra-op threads equal ``spark.task.cpus``. The manifest is
verified before any session is created. Each key is encoded on its own (one ONNX run per key):
int8 dynamic quantization scales activations by each run's range, so a key encoded among
others would get a vector that depends on its neighbours; alone, its vector depends only on
the key and the model version, and it costs no more (no padding).

This module imports neither the training code nor the data generator: what it shares with
training is ``ml.preprocessing``, ``ml.tree_scores`` and ``ml.artifacts``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.artifacts import verify_manifest
from ml.preprocessing import Preprocessing, records_first, slot_weight_grid, take_records
from ml.tree_scores import TREES_DIR, TreeScores

ONNX_DIR = "onnx"
TEXT_ENCODER = "text_encoder.int8.onnx"
HEAD = "head.int8.onnx"
HEAD_INPUTS = (
    "field_rows", "field_weight", "field_table", "record_type", "record_hour", "record_payment", "record_status",
    "record_cell", "record_numeric", "numeric", "categorical", "tree_scores",
)
RECORD_AXIS_INPUTS = tuple(name for name in HEAD_INPUTS if name in ("field_rows", "field_weight") or name.startswith("record_"))
HEAD_OUTPUTS = ("risk_prob", "age_prob", "income")
# ONNX Runtime's matrix kernels (MLAS) multiply the rows of a run in tiles: 4 rows on the AVX-512
# machines measured, 6 or 12 in some other kernels. The rows of a partial last tile go through
# another code path that rounds differently (a user-month scored alone in a run of 5 or 6 rows
# came out 3e-8 away from the same user-month in a run of 15), so every run is padded to a
# multiple of every tile height (``head_feeds``)
ROW_TILE = 12
# user-months per head run, whole tiles so a full run needs no padding: on a month of the demo
# warehouse the head's runs took up to 8 % less CPU at 64 than at 128 (smaller activations,
# likely cache-resident), and no less at 32
HEAD_BATCH = 4 * ROW_TILE
USERS_PER_ARROW_BATCH = 8 * HEAD_BATCH  # an Arrow batch: about 8 head runs
RECORD_WIDTH_STEP = 8  # a head run's record axis: its user-months' record count rounded up to a multiple of this
MODEL_DIR_ENV = "RIDECREDIT_MODEL_DIR"
DEFAULT_MODEL_DIR = "artifacts/models/latest"

_LOADED: dict[tuple[str, int, str, str], "ScoringModel"] = {}


class IncompatibleModelError(RuntimeError):
    """A model version whose exported head takes other inputs than this code feeds it."""


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


def field_dim(model_dir: str | Path) -> int:
    """Width of a cached vector: what the head reads per field key (projection and read-out scores)."""
    return int(_scoring_spec(Path(model_dir))["field_dim"])


@dataclass(frozen=True)
class KeyVectors:
    """Field keys and their vectors as the head gathers them: key ``index[i]`` is ``table[i + 1]``, row 0 is no key."""

    index: pd.Index
    table: np.ndarray  # (n + 1, r) float32

    @classmethod
    def of(cls, keys: Any, vectors: np.ndarray) -> KeyVectors:
        table = np.zeros((len(vectors) + 1, vectors.shape[1]), np.float32)
        table[1:] = vectors
        return cls(pd.Index(keys, dtype=object), table)

    def rows(self, keys: np.ndarray, version: str) -> np.ndarray:
        """Each key's row in ``table``; a key without a vector is an error naming it."""
        position = self.index.get_indexer(keys)
        if (position < 0).any():
            raise KeyError(
                f"{int((position < 0).sum())} field keys have no cached vector for model {version}, e.g. "
                f"{keys[position < 0][:3].tolist()}: run `dbt run --select text_embedding_cache` first"
            )
        return position + 1


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
        self.trees = TreeScores.load(self.model_dir / TREES_DIR)
        self.threads = max(1, threads)
        spec = _scoring_spec(self.model_dir)
        if spec.get("head_inputs") != list(HEAD_INPUTS):  # a model exported by other code: refuse before a session
            raise IncompatibleModelError(
                f"{self.model_dir / ONNX_DIR / 'scoring.json'}: head_inputs is {spec.get('head_inputs')}, this code "
                f"feeds {list(HEAD_INPUTS)}; retrain the model (python -m ml.train) or score it with the code that exported it"
            )
        self.field_dim = int(spec["field_dim"])
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
        out = np.zeros((len(keys), self.field_dim), dtype=np.float32)
        for i, encoding in enumerate(self.tokenizer.encode_batch(list(keys))):
            feed = {
                "input_ids": np.array([encoding.ids], dtype=np.int64),
                "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
            }
            out[i] = self.encoder.run(["field_vector"], feed)[0][0]
        return out

    def key_vectors(self, keys: list[str]) -> KeyVectors:
        """``keys`` encoded (``encode_keys``) and laid out as the head gathers them."""
        return KeyVectors.of(keys, self.encode_keys(keys))

    def head_inputs(self, frame: pd.DataFrame, vectors: KeyVectors) -> dict[str, np.ndarray]:
        """The head's inputs for user-months ``frame``, all 2L record columns (see ``head_feeds``).

        Each text slot carries the row of its key's vector in ``vectors.table`` (0: no key), and
        the head gathers the rows itself: a (B, T, S) int index instead of a (B, T, S, r) dense
        block, which cost more to build in numpy than the head took to run.
        """
        prep = self.preprocessing
        rows, records, slots, keys = prep.text_slots(frame)
        field_rows = np.zeros((len(frame), prep.n_records, prep.n_slots), np.int64)
        field_rows[rows, records, slots] = vectors.rows(keys, self.version)
        return {
            "field_rows": field_rows,
            "field_weight": slot_weight_grid(field_rows),  # the pooled risk bag's slot weights (``ml.model.lexical``)
            "field_table": vectors.table,
            **prep.records(frame),
            "numeric": prep.numeric(frame),
            "categorical": prep.categorical(frame),
            "tree_scores": self.trees(frame, prep, self.threads),
        }

    def head_feeds(
        self, frame: pd.DataFrame, vectors: KeyVectors, batch_size: int = HEAD_BATCH
    ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """The head's runs: each the positions in ``frame`` of up to ``batch_size`` user-months, and their inputs.

        A run holds user-months whose record counts round up to the same multiple of
        ``RECORD_WIDTH_STEP``, real records first and the padding columns beyond that width
        dropped (``records_first``). The width is a function of the user-month alone, so its
        scores are bit for bit the same whichever user-months share its Arrow batch: a
        one-month backfill reproduces a run of every month (ONNX Runtime's sums over the record
        axis round differently at another width), and padded with repeats of its own rows to a
        multiple of ``ROW_TILE`` rows, so each of them sits in a full tile of the matrix kernels:
        its outputs beyond ``len(rows)`` are not scores. What scoring runs and the export
        calibrates on.
        """
        inputs = self.head_inputs(frame, vectors)
        counts = (inputs["record_type"] > 0).sum(1)
        widths = np.maximum(1, -(-counts // RECORD_WIDTH_STEP)) * RECORD_WIDTH_STEP
        for width in np.unique(widths):
            group = np.flatnonzero(widths == width)
            for start in range(0, len(group), batch_size):
                rows = group[start : start + batch_size]
                taken = np.resize(rows, -(-len(rows) // ROW_TILE) * ROW_TILE)  # the repeats' outputs are dropped (``score``)
                feed = {name: array[taken] for name, array in inputs.items() if name != "field_table"}
                front = records_first(feed["record_type"], int(width))
                for name in RECORD_AXIS_INPUTS:
                    feed[name] = take_records(feed[name], front)
                yield rows, {**feed, "field_table": inputs["field_table"]}

    def score(self, frame: pd.DataFrame, vectors: KeyVectors, batch_size: int = HEAD_BATCH) -> pd.DataFrame:
        """Risk probability and points, age-bucket probabilities and bucket, income (normalised and MXN)."""
        risk, age, income = np.zeros(len(frame), np.float32), np.zeros((len(frame), 4), np.float32), np.zeros(len(frame), np.float32)
        for rows, feed in self.head_feeds(frame, vectors, batch_size):
            risk[rows], age[rows], income[rows] = (out[: len(rows)] for out in self.head.run(list(HEAD_OUTPUTS), feed))
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
    token: str  # this reading of the cache: a later run's table (more keys, same version) has another

    @classmethod
    def from_cache(cls, cache: pd.DataFrame, version: str, dim: int) -> "VectorTable":
        """From the cache table's ``text_key, vector`` rows of ``version``."""
        vectors = np.frombuffer(b"".join(cache["vector"]), dtype=VECTOR_DTYPE).reshape(len(cache), dim)
        return cls(version, cache["text_key"].to_numpy(object), vectors, uuid.uuid4().hex)


_TABLES: dict[str, KeyVectors] = {}


def _lookup(table: VectorTable) -> KeyVectors:
    """The table's keys and float32 vectors, laid out once per Python worker and broadcast.

    Keyed by the broadcast's token, not the model version: Python workers outlive a dbt run,
    and the next run's cache of the same version holds the keys of the months it added.
    """
    if table.token not in _TABLES:
        _TABLES.clear()  # one table per worker at a time
        _TABLES[table.token] = KeyVectors.of(table.keys, table.vectors.astype(np.float32))
    return _TABLES[table.token]


def score_batches(model_dir: str, threads: int, broadcast: Any) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """mapInPandas body: user-months in (features and sequences); the three scores out.

    ``broadcast`` holds the model version's ``VectorTable``; a record key missing from it is an
    error naming the key (``KeyVectors.rows``). The head runs once per user-month for all tasks.
    """

    def body(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = ScoringModel.cached(model_dir, threads)
        table: VectorTable = broadcast.value
        if table.version != model.version:
            raise ValueError(f"the broadcast vectors are of model {table.version}, the model is {model.version}")
        vectors = _lookup(table)
        for frame in batches:
            frame = frame.reset_index(drop=True)
            scores = model.score(frame, vectors)
            scores.insert(0, "model_version", model.version)
            scores.insert(0, "dt", frame["dt"].to_numpy())
            scores.insert(0, "user_id", frame["user_id"].to_numpy())
            yield scores

    return body


def keys_of_months(field_texts: Any, low: str | None, high: str | None) -> Any:
    """The ``text_key`` of every key of ``features.field_texts`` seen in months ``low``..``high`` (None: open).

    What a run of those months encodes (``text_embedding_cache``) and broadcasts
    (``score_user_months``): a backfill or a new month needs its own keys, not the history's.
    """
    from pyspark.sql import functions as F

    if low:
        field_texts = field_texts.where(F.col("last_dt") >= low)
    if high:
        field_texts = field_texts.where(F.col("first_dt") <= high)
    return field_texts.select("text_key")


def score_user_months(session: Any, inputs: Any, cache: Any, model_dir: Path, keys: Any | None = None) -> Any:
    """The scoring model's Spark plan: ``inputs`` (features joined to sequences) to the scores.

    The model version's rows of ``cache`` (the embedding cache table), only those of ``keys``
    when given (``keys_of_months``), are read on the driver and broadcast to every Python
    worker, where each record's keys find their vectors: user-months never shuffle their keys
    to a join. The head runs in ``mapInPandas`` with ``spark.task.cpus`` intra-op threads.
    """
    from pyspark.sql import functions as F

    version = model_dir.name
    cache = cache.where(F.col("model_version") == version)
    if keys is not None:
        cache = cache.join(keys, "text_key", "left_semi")
    rows = cache.select("text_key", "vector").toPandas()
    vectors = session.sparkContext.broadcast(VectorTable.from_cache(rows, version, field_dim(model_dir)))
    threads = int(session.conf.get("spark.task.cpus", "1"))
    session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(USERS_PER_ARROW_BATCH))
    return inputs.mapInPandas(score_batches(str(model_dir), threads, vectors), schema=SCORE_SCHEMA)

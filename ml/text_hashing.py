"""Hashed bag-of-words of each user's recent ride and delivery text.

A stateless text representation (no vocabulary to fit, identical on every executor) that
the baseline model can use and that the distilled BERT student has to beat. It runs
inside Spark through ``mapInPandas`` from the dbt Python model
``python_models/features/user_month_text_hashes.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import HashingVectorizer

N_DIMENSIONS = 32
TEXT_COLUMNS = ("ride_origin_text_keys", "ride_place_text_keys", "delivery_store_text_keys", "delivery_item_text_keys")
OUTPUT_SCHEMA = "user_id string, dt string, n_text_records int, text_hash_embedding array<float>"

# Word unigrams and bigrams, accents stripped: "Casa de Empeño" and "CASA DE EMPENO" hash alike.
_VECTORIZER = HashingVectorizer(
    n_features=N_DIMENSIONS,
    ngram_range=(1, 2),
    strip_accents="unicode",
    lowercase=True,
    alternate_sign=True,
    norm="l2",
)


def _flat(values) -> list:
    """Field keys of one column; SKU keys come as one array per delivery."""
    return [k for v in values for k in (v if isinstance(v, (list, np.ndarray)) else [v])]


def user_documents(frame: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """One document per user-month: all its recent texts joined; and how many texts it had."""
    documents, counts = [], np.zeros(len(frame), dtype=np.int32)
    for i, row in enumerate(frame[list(TEXT_COLUMNS)].itertuples(index=False)):
        texts = [t for column in row if column is not None for t in _flat(column) if t]
        documents.append(" \n ".join(texts))
        counts[i] = len(texts)
    return documents, counts


def hash_text_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """mapInPandas body: sequences in, one hashed embedding per user-month out."""
    for frame in batches:
        documents, counts = user_documents(frame)
        vectors = _VECTORIZER.transform(documents).toarray().astype(np.float32)
        yield pd.DataFrame(
            {
                "user_id": frame["user_id"].to_numpy(),
                "dt": frame["dt"].to_numpy(),
                "n_text_records": counts,
                "text_hash_embedding": list(vectors),
            }
        )

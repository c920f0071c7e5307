"""The encoder's corpus: distinct field text keys of the training months, from the dbt marts.

``features.field_texts`` holds one row per distinct key; ``in_training_window`` marks the
keys some training month holds, so no text first seen out of time reaches the tokenizer, the
teacher or the student. ``monitoring.field_text_novelty`` counts distinct and new keys per
month, reported with the encoder.
"""

from __future__ import annotations

from typing import Any

from ml.warehouse import read_table

FIELD_TEXTS = "features.field_texts"
NOVELTY = "monitoring.field_text_novelty"


def training_corpus(spark: Any) -> list[str]:
    """Sorted distinct text keys of the training months (sorted: same corpus, same model)."""
    rows = read_table(spark, FIELD_TEXTS).where("in_training_window").select("text_key").collect()
    corpus = sorted(row.text_key for row in rows)
    if not corpus:
        raise ValueError(f"{FIELD_TEXTS} has no text key in a training month: the encoder has nothing to learn from")
    return corpus


def novelty_by_month(spark: Any) -> list[dict[str, Any]]:
    """Per snapshot month: slots, distinct keys, new keys, slots unseen in training."""
    frame = read_table(spark, NOVELTY).orderBy("dt").toPandas()
    return frame.to_dict(orient="records")

"""The dbt seeds agree with the world the demo generator simulates."""

from __future__ import annotations

import csv

from conftest import REPO
from ml.synth import dirt
from ml.synth.places import CITY_NAMES, CITY_TIMEZONES
from ml.synth.schema import PAYMENT_METHODS


def _seed(name: str) -> list[dict[str, str]]:
    with (REPO / "seeds" / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def _key(text: str) -> str:
    """What macros/text.sql's text_key does, for plain ASCII-able variants."""
    import re
    import unicodedata

    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return re.sub(r"[^a-z0-9]+", " ", stripped.lower()).strip()


def test_city_timezones_seed_matches_generator() -> None:
    assert {row["city"]: row["timezone"] for row in _seed("city_timezones")} == CITY_TIMEZONES
    assert set(CITY_TIMEZONES) == set(CITY_NAMES)


def test_every_generated_spelling_has_a_synonym() -> None:
    synonyms = {(row["field"], row["raw_key"]): row["canonical_value"] for row in _seed("categorical_synonyms")}
    checks = [
        ("city", dirt.CITY_VARIANTS, CITY_NAMES),
        ("payment_method", dirt.PAYMENT_VARIANTS, PAYMENT_METHODS),
        ("device_os", dirt.DEVICE_OS_VARIANTS, ("android", "ios")),
    ]
    for field, variants, canonical in checks:
        for value in canonical:
            for spelling in (value, *variants.get(value, ())):
                assert synonyms.get((field, _key(spelling)), value if _key(spelling) == value else None) == value, (
                    field, spelling)

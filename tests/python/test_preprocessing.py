"""The record and text-slot layout the head reads, from the frames scoring and training get.

Arrow hands mapInPandas each list column as 1-d ndarrays (floats as float64, strings as
objects, a basket as an object array of arrays); a frame built by hand holds Python lists.
Both must give the same layout, and the hashed cells must equal zlib's crc32 as written down.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest

from ml.preprocessing import SLOT_FIRST_ITEM, Preprocessing


@pytest.fixture()
def prep() -> Preprocessing:
    return Preprocessing(
        numeric_features=[], fill_value=[], clip_low=[], clip_high=[],
        categorical_codes={}, payment_codes={"cash": 1, "card": 2},
        ride_status_codes={"completed": 1}, delivery_status_codes={"delivered": 1},
        income_log_min=7.0, income_log_max=10.0, sequence_length=3, max_basket_items=2,
        lookback_days=90.0, cell_precision=4, cell_buckets=97,
    )


def _sequences() -> dict[str, list]:
    """Two user-months: one with two rides (the second without a place) and two deliveries; one with nothing."""
    return {
        "ride_days_before": [[3.0, 1.5], []],
        "ride_origin_text_keys": [["aeropuerto", "hospital"], []],
        "ride_place_text_keys": [["oficina", None], []],
        "ride_geohashes": [["9g3w8x", ""], []],
        "ride_local_hours": [[23, 7], []],
        "ride_amounts": [[120.0, np.nan], []],
        "ride_payment_methods": [["cash", "crypto"], []],
        "ride_statuses": [["completed", "completed"], []],
        "delivery_days_before": [[10.0, 2.0], []],
        "delivery_store_text_keys": [["farmacia", "tacos"], []],
        "delivery_item_text_keys": [[["aspirina", "agua", "pañales"], ["taco al pastor"]], []],
        "delivery_geohashes": [["9g3w8y", None], []],
        "delivery_local_hours": [[12, 20], []],
        "delivery_amounts": [[80.0, 45.5], []],
        "delivery_payment_methods": [["card", "cash"], []],
        "delivery_statuses": [["delivered", "cancelled"], []],
    }


def _as_arrow_hands_them(column: list) -> list:
    def one(values):
        if values and isinstance(values[0], list):
            out = np.empty(len(values), dtype=object)
            for i, basket in enumerate(values):
                out[i] = np.array(basket, dtype=object)
            return out
        return np.array(values, dtype=object if any(isinstance(v, str) or v is None for v in values) else None)

    return [one(values) for values in column]


def test_lists_and_arrow_arrays_give_the_same_layout(prep: Preprocessing) -> None:
    as_lists = pd.DataFrame(_sequences())
    as_arrays = pd.DataFrame({name: _as_arrow_hands_them(column) for name, column in _sequences().items()})
    for frame in (as_lists, as_arrays):
        records = prep.records(frame)
        assert records["record_type"].tolist() == [[1, 1, 0, 2, 2, 0], [0] * 6]
        assert records["record_hour"][0].tolist() == [23, 7, 0, 12, 20, 0]
        assert records["record_payment"][0].tolist() == [1, 0, 0, 2, 1, 0]  # crypto is unknown
        assert records["record_status"][0].tolist() == [1, 1, 0, 2, 0, 0]  # delivery codes follow the ride ones
        assert records["record_numeric"][0, 1, 2] == 1.0  # a missing amount is flagged
        rows, slots_record, slots, keys = prep.text_slots(frame)
        assert keys.tolist() == ["aeropuerto", "hospital", "oficina", "farmacia", "tacos", "aspirina", "agua", "taco al pastor"]
        assert slots_record.tolist() == [0, 1, 0, 3, 4, 3, 3, 4]
        assert slots.tolist() == [0, 0, 1, 0, 0, SLOT_FIRST_ITEM, SLOT_FIRST_ITEM + 1, SLOT_FIRST_ITEM]  # the 3rd SKU is cut
        assert set(rows.tolist()) == {0}
    assert all(np.array_equal(prep.records(as_lists)[k], prep.records(as_arrays)[k]) for k in prep.records(as_lists))


def test_cells_are_crc32_of_the_cut_geohash(prep: Preprocessing) -> None:
    geohashes = np.array(["9g3w8x", "9g3w00", "", None, "9g3w8x", "dr5reg"], dtype=object)
    expected = [0 if not g else 1 + zlib.crc32(g[: prep.cell_precision].encode()) % prep.cell_buckets for g in geohashes]
    assert prep.cells(geohashes).tolist() == expected
    assert expected[0] == expected[1] != 0  # the same 4-character cell
    assert prep.cells(np.array([], dtype=object)).tolist() == []

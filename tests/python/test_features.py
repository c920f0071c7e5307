"""The curated feature layer on a hand-made user whose every value was worked out by hand."""

from __future__ import annotations

import math
from datetime import date

import pygeohash
import pytest

import handmade_user as hand

pytestmark = pytest.mark.slow


def _row(spark, table: str, dt: str = hand.SNAPSHOT) -> dict:
    rows = spark.sql(f"select * from {table} where user_id = '{hand.USER_ID}' and dt = '{dt}'").collect()
    assert len(rows) == 1, f"{table}: expected one row for {hand.USER_ID} at {dt}, got {len(rows)}"
    return rows[0].asDict()


def test_staging_cleans_text_maps_synonyms_and_keeps_bad_coordinates_flagged(demo_build, spark) -> None:
    rides = spark.sql(
        f"select * from staging.stg_platform__ride_orders where user_id = '{hand.USER_ID}' order by order_ts"
    ).toPandas()
    assert len(rides) == 26  # 27 raw rows, one duplicate rejected
    assert set(rides["dropoff_poi_name"]) == {"Hospital General de México"}
    assert set(rides["dropoff_poi_key"]) == {"hospital general de mexico"}
    assert set(rides["payment_method"]) == {"cash"}
    ride_25 = rides[rides["order_id"] == "hand-ride-25"].iloc[0]
    assert ride_25["order_status"] == "completed"  # the final status wins over the in-progress copy
    ride_26 = rides[rides["order_id"] == "hand-ride-26"].iloc[0]
    assert ride_26["has_invalid_dropoff_coords"] and math.isnan(ride_26["dropoff_lat"])
    rejects = spark.sql(
        f"select record_id, reject_reason from staging.stg_platform__rejects where user_id = '{hand.USER_ID}'"
    ).collect()
    assert [tuple(r) for r in rejects] == [("hand-ride-25", "duplicate_order_id")]

    user = spark.sql(f"select * from staging.stg_platform__users where user_id = '{hand.USER_ID}'").collect()[0]
    assert (user.city, user.device_os, user.email_domain) == ("Ciudad de México", "android", "gmail.com")

    deliveries = spark.sql(
        f"select store_name, item_titles from staging.stg_platform__delivery_orders where user_id = '{hand.USER_ID}'"
    ).collect()
    assert {d.store_name for d in deliveries} == {"OXXO Centro"}  # emoji and double space gone
    assert deliveries[0].item_titles == ["Pañales Huggies etapa 3", "Fórmula infantil 800 g"]


def test_sequences_keep_the_last_20_records_oldest_first(demo_build, spark) -> None:
    seq = _row(spark, "features.user_month_sequences")
    kept_days = list(range(7, 27))  # 26 usable rides before the snapshot, the latest 20 kept
    assert seq["n_rides"] == 20
    assert seq["ride_amounts"] == [10.0 * d for d in kept_days]
    assert seq["ride_days_before"] == pytest.approx([hand.days_before_snapshot(d, 12) for d in kept_days], abs=1e-9)
    assert seq["ride_place_text_keys"] == ["hospital general de mexico"] * 20
    assert seq["ride_origin_text_keys"] == ["zocalo"] * 20
    assert seq["ride_local_hours"] == [6] * 20  # 12:00 UTC is 06:00 in Mexico City
    assert seq["ride_payment_methods"] == ["cash"] * 20
    hospital_cell = pygeohash.encode(*hand.DROPOFF, precision=7)
    assert seq["ride_geohashes"] == [hospital_cell] * 19 + [None]  # ride 26's drop-off was impossible
    # Jan 30 is before the snapshot too; all three deliveries, oldest first.
    assert seq["n_deliveries"] == 3
    assert seq["delivery_amounts"] == [100.0, 200.0, 300.0]
    assert seq["delivery_store_text_keys"] == ["oxxo centro"] * 3
    # one key per SKU title, never a joined string
    assert seq["delivery_item_text_keys"] == [["panales huggies etapa 3", "formula infantil 800 g"]] * 3
    assert seq["delivery_days_before"] == pytest.approx([hand.days_before_snapshot(d, 20) for d in (10, 20, 30)])


def test_order_and_geo_statistics(demo_build, spark) -> None:
    f = _row(spark, "features.user_month_features")
    # 30-day window: rides with days_before <= 30, i.e. Jan 2..26 (Jan 1 12:00 is 30.5 days back).
    assert f["rides_30d"] == 25 and f["rides_90d"] == 26 and f["rides_180d"] == 26
    assert f["ride_spend_30d"] == pytest.approx(sum(10 * d for d in range(2, 27)))
    assert f["ride_spend_90d"] == pytest.approx(sum(10 * d for d in range(1, 27)))
    assert f["deliveries_30d"] == 3 and f["delivery_spend_30d"] == pytest.approx(600.0)
    assert f["delivery_avg_amount_30d"] == pytest.approx(200.0)
    assert f["delivery_amount_std_180d"] == pytest.approx(100.0)  # sample std of 100, 200, 300
    assert f["active_days_30d"] == 26 and f["active_days_90d"] == 27  # 25 ride days + Jan 30; Jan 1 only in 90d
    assert f["cash_share_180d"] == pytest.approx(1.0)
    assert f["cancelled_share_180d"] == pytest.approx(0.0)
    assert f["days_since_last_ride"] == pytest.approx(hand.days_before_snapshot(26, 12))
    assert f["days_since_last_delivery"] == pytest.approx(hand.days_before_snapshot(30, 20))
    # Places: 26 pickups at the Zócalo cell, 25 valid drop-offs + 3 deliveries at the hospital cell.
    assert f["n_geo_points"] == 54 and f["n_distinct_cells"] == 2
    shares = [28 / 54, 26 / 54]
    assert f["top_cell_share"] == pytest.approx(28 / 54)
    assert f["cell_entropy"] == pytest.approx(-sum(p * math.log(p) for p in shares))
    # Deliveries at 20:00 UTC = 14:00 local on weekdays are work time; none is night.
    assert f["night_share"] == pytest.approx(0.0)
    assert f["home_geohash"] is None
    assert f["work_geohash"] == pygeohash.encode(*hand.DROPOFF, precision=7)  # Tue 20 + Fri 30, 14:00 local
    assert (f["city"], f["device_os"]) == ("Ciudad de México", "android")
    assert f["tenure_days"] == (date(2026, 2, 1) - date(2025, 6, 1)).days


def test_labels_follow_the_rules(demo_build, spark) -> None:
    february = _row(spark, "labels.user_month_labels", "2026-02-01")
    assert (february["risk_label"], february["age_bucket"]) == (1, 1)
    assert february["income_label"] == pytest.approx(hand.income_label(12000.0), abs=1e-12)
    march = _row(spark, "labels.user_month_labels", "2026-03-01")
    assert march["risk_label"] == 0 and march["income_label"] == pytest.approx(1.0)  # clipped at 30000
    april = _row(spark, "labels.user_month_labels", "2026-04-01")
    assert april["risk_label"] is None and april["income_label"] is None  # 6000 <= 7000: left out

    params = spark.table("preprocessing.income_label_params").collect()[0]
    back = math.exp(params.log_min + (february["income_label"] + 1) / 2 * (params.log_max - params.log_min))
    assert back == pytest.approx(12000.0)

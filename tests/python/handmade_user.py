"""A hand-made user added to the generated landing data, with every expected value worked out.

Snapshot 2026-02-01 sees January only. The user takes 26 rides on Jan 1..26 at 12:00 UTC
(06:00 in Mexico City: not night, not work hours), ride d costs 10 * d MXN, cash ("Efectivo"),
plus a re-sent in-progress copy of ride 25 (rejected as a duplicate) and ride 26 with an
impossible drop-off (999, 999), which is kept with its drop-off nulled. Three deliveries on
Jan 10, 20 and 30. Outcomes for three snapshot months exercise every label rule.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ml.synth.schema import DELIVERY_ORDERS, OUTCOMES, RIDE_ORDERS, USERS

USER_ID = "u_hand_0001"
PICKUP = (19.4326, -99.1332)  # Zócalo
DROPOFF = (19.4120, -99.1530)  # Hospital General de México
SNAPSHOT = "2026-02-01"


def _ride(day: int, status: str = "completed", dropoff: tuple[float, float] = DROPOFF) -> dict:
    return {
        "order_id": f"hand-ride-{day:02d}",
        "user_id": USER_ID,
        "order_ts": datetime(2026, 1, day, 12, 0),
        "pickup_lat": PICKUP[0],
        "pickup_lon": PICKUP[1],
        "dropoff_lat": dropoff[0],
        "dropoff_lon": dropoff[1],
        "pickup_poi_name": "Zócalo",
        "pickup_address": "Plaza de la Constitución s/n",
        "dropoff_poi_name": "  Hospital   General de México ",
        "dropoff_address": "Dr. Balmis 148, Doctores",
        "fare_mxn": 10.0 * day,
        "distance_km": 3.0,
        "payment_method": "Efectivo",
        "status": status,
    }


def raw_tables() -> dict[str, tuple[object, list[dict]]]:
    rides = [_ride(day) for day in range(1, 26)]
    rides.append(_ride(26, dropoff=(999.0, 999.0)))
    rides.append(_ride(25, status="in_progress"))
    deliveries = [
        {
            "order_id": f"hand-delivery-{day:02d}",
            "user_id": USER_ID,
            "order_ts": datetime(2026, 1, day, 20, 0),
            "store_name": "OXXO 🛒  Centro",
            "item_titles": ["Pañales Huggies etapa 3", "  Fórmula infantil 800 g "],
            "delivery_address": "Dr. Balmis 148, Doctores",
            "delivery_lat": DROPOFF[0],
            "delivery_lon": DROPOFF[1],
            "amount_mxn": amount,
            "payment_method": "Efectivo",
            "status": "completed",
        }
        for day, amount in ((10, 100.0), (20, 200.0), (30, 300.0))
    ]
    user = {
        "user_id": USER_ID,
        "signup_date": date(2025, 6, 1),
        "city": "CDMX",
        "device_os": "ANDROID",
        "app_version": "5.1.0",
        "referral_channel": "organic",
        "full_name": "Ana Hernández",
        "email_domain": "gmial.com",
        "phone_carrier": "telcel",
    }
    outcomes = {
        "2026-02-01": {"overdue_flag": 1, "age": 34, "monthly_income": 12000.0, "income_source": "declared"},
        "2026-03-01": {"overdue_flag": 0, "age": 34, "monthly_income": 50000.0, "income_source": "verified"},
        "2026-04-01": {"overdue_flag": None, "age": 34, "monthly_income": 6000.0, "income_source": "declared"},
    }
    return {"users": user, "rides": rides, "deliveries": deliveries, "outcomes": outcomes}


def write_into(landing: Path) -> None:
    """Add the user's rows to a landing zone as extra parquet files."""
    tables = raw_tables()

    def write(spec, rows: list[dict], folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=spec.arrow), folder / "part-handmade.parquet")

    write(USERS, [tables["users"]], landing / "raw" / "users")
    write(RIDE_ORDERS, tables["rides"], landing / "raw" / "ride_orders" / "dt=2026-01-01")
    write(DELIVERY_ORDERS, tables["deliveries"], landing / "raw" / "delivery_orders" / "dt=2026-01-01")
    for dt, outcome in tables["outcomes"].items():
        write(OUTCOMES, [{"user_id": USER_ID, **outcome}], landing / "raw" / "outcomes" / f"dt={dt}")


def days_before_snapshot(day: int, hour: int) -> float:
    return (datetime(2026, 2, 1) - datetime(2026, 1, day, hour)).total_seconds() / 86400


def income_label(income: float) -> float:
    return 2 * (math.log(min(income, 30000)) - math.log(7000)) / (math.log(30000) - math.log(7000)) - 1

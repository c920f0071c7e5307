"""A corpus of crafted bad rows, one or more per class of issue 11, each with its expected fate.

`write_into(landing)` appends them to a generated landing zone as extra parquet files
(`part-bad-input.parquet`), including two stray partitions (dt=2099-01-01, dt=1999-12-01).
`EXPECTED` maps (table, record key) to the expected `reject_reason` (None = staged) and,
for staged rows, the values staging must give them. Keys: `order_id` for orders; `user_id`
plus a distinguishing value for users and outcomes, with amounts as staging leaves them
(see `key_of`).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ml.synth.schema import DELIVERY_ORDERS, OUTCOMES, RIDE_ORDERS, USERS

FILE_NAME = "part-bad-input.parquet"
OK_USER = "u_bad_ok"  # a clean user that the bad orders and outcomes belong to
INVALID_UTF8 = b"M\xe9xico"  # Latin-1 bytes, not UTF-8
NAN, INF = math.nan, math.inf
CALENDAR = ["2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01"]  # declared default
TEXT_BOUND = 256  # var max_text_length
# every character clean text must not keep: controls, format characters (BOM, zero-width), any
# space but U+0020, line/paragraph separators
INVISIBLE = r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\x{00A0}\x{1680}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}]"


def _user(user_id: str, **overrides) -> dict:
    row = {
        "user_id": user_id,
        "signup_date": date(2025, 1, 1),
        "city": "CDMX",
        "device_os": "android",
        "app_version": "5.1.0",
        "referral_channel": "organic",
        "full_name": "Prueba",
        "email_domain": "gmail.com",
        "phone_carrier": "telcel",
    }
    row.update(overrides)
    return row


def _ride(order_id: str, **overrides) -> dict:
    row = {
        "order_id": order_id,
        "user_id": OK_USER,
        "order_ts": datetime(2026, 3, 10, 12, 0),
        "pickup_lat": 19.4326,
        "pickup_lon": -99.1332,
        "dropoff_lat": 19.4120,
        "dropoff_lon": -99.1530,
        "pickup_poi_name": "Zócalo",
        "pickup_address": "Plaza de la Constitución s/n",
        "dropoff_poi_name": "Hospital General de México",
        "dropoff_address": "Dr. Balmis 148, Doctores",
        "fare_mxn": 100.0,
        "distance_km": 3.0,
        "payment_method": "cash",
        "status": "completed",
    }
    row.update(overrides)
    return row


def _delivery(order_id: str, **overrides) -> dict:
    row = {
        "order_id": order_id,
        "user_id": OK_USER,
        "order_ts": datetime(2026, 3, 12, 20, 0),
        "store_name": "OXXO Centro",
        "item_titles": ["Leche entera 1 l"],
        "delivery_address": "Dr. Balmis 148, Doctores",
        "delivery_lat": 19.4120,
        "delivery_lon": -99.1530,
        "amount_mxn": 120.0,
        "payment_method": "cash",
        "status": "completed",
    }
    row.update(overrides)
    return row


def _outcome(user_id: str = OK_USER, **overrides) -> dict:
    row = {"user_id": user_id, "overdue_flag": 0, "age": 30, "monthly_income": None, "income_source": None}
    row.update(overrides)
    return row


# (landing dt, row) per table; dt None for users
USERS_ROWS = [
    _user(OK_USER),
    _user("u_bad_tab\t"),                               # id padded with a tab
    _user("\u00a0u_bad_nbsp\u3000\ufeff"),              # no-break space, ideographic space, BOM
    _user("u_bad_1900", signup_date=date(1900, 1, 1)),  # impossible signup dates
    _user("u_bad_2099", signup_date=date(2099, 1, 1)),
    _user("u_bad_late", signup_date=date(2026, 3, 1)),  # real, but after some orders
    _user("u_bad_city", city="\u00a0\u00a0\u3000"),     # a city made only of invisible spaces
    _user("u_bad_utf8", city=INVALID_UTF8),
    _user("u_bad_dup", app_version="2.0.0"),            # exact tie but app_version: the order decides
    _user("u_bad_dup", app_version="1.0.0"),
]

RIDE_ROWS = [
    ("2026-03-01", _ride("bad-ride-nan", fare_mxn=NAN)),
    ("2026-03-01", _ride("bad-ride-inf", fare_mxn=INF, distance_km=-INF)),
    ("2026-03-01", _ride("bad-ride-huge", fare_mxn=1e15, distance_km=NAN)),
    ("2026-03-01", _ride("bad-ride-bitcoin", payment_method="bitcoin")),
    ("2026-03-01", _ride("bad-ride-completado", status="Completado")),
    ("2026-03-01", _ride("bad-ride-nullstatus", status=None)),
    ("2099-01-01", _ride("bad-ride-2099", order_ts=datetime(2099, 1, 5, 12, 0))),
    ("1999-12-01", _ride("bad-ride-1999", order_ts=datetime(1999, 12, 5, 12, 0))),
    ("2026-02-01", _ride("bad-ride-before-signup", user_id="u_bad_late", order_ts=datetime(2026, 2, 10, 12, 0))),
    ("2026-03-01", _ride("bad-ride-late-ok", user_id="u_bad_late", order_ts=datetime(2026, 3, 10, 12, 0))),
    ("2026-03-01", _ride("bad-ride-tab\t", user_id="\tu_bad_tab\u00a0")),
    ("2026-03-01", _ride("bad-ride-nbsp", user_id="u_bad_nbsp")),
    ("2026-03-01", _ride("bad-ride-rejected-user", user_id="u_bad_1900")),
    ("2026-03-01", _ride("bad-ride-ctrl", pickup_poi_name="Hos\x00pital\u200b Gene\u2028ral\ufeff\u3000",
                         pickup_address="\u00a0\u00a0", dropoff_poi_name="ＨＯＳＰＩＴＡＬ")),
    # two versions of one order tied on every ranking column but the fare: the larger one
    # comes first in the file, the smaller one must win (content order, not file order)
    ("2026-03-01", _ride("bad-ride-tie", fare_mxn=200.0)),
    ("2026-03-01", _ride("bad-ride-tie", fare_mxn=150.0)),
    ("2026-03-01", _ride("bad-ride-utf8", pickup_poi_name=INVALID_UTF8)),
]

DELIVERY_ROWS = [
    ("2026-03-01", _delivery("bad-delivery-nan", amount_mxn=NAN)),
    ("2026-03-01", _delivery("bad-delivery-ninf", amount_mxn=-INF, payment_method="bitcoin")),
    ("2026-03-01", _delivery("bad-delivery-titles",
                             item_titles=[f"Artículo número {i} de la canasta" for i in range(1000)] + ["x" * 5000],
                             delivery_address="Calle " + "muy " * 800 + "larga")),
    ("2026-03-01", _delivery("bad-delivery-utf8", store_name=INVALID_UTF8)),
    ("2026-03-01", _delivery("bad-delivery-refunded-ok", status="refunded")),
    ("2026-03-01", _delivery("bad-delivery-unknown-status", status="entregado")),
]

OUTCOME_ROWS = [
    # NaN and 9 000 for one user-month: the valid income wins the dedupe
    ("2026-03-01", _outcome(monthly_income=NAN, income_source="declared")),
    ("2026-03-01", _outcome(monthly_income=9000.0, income_source="declared")),
    ("2026-04-01", _outcome(overdue_flag=1, monthly_income=INF, income_source="verified")),
    ("2026-05-01", _outcome(overdue_flag=7, age=None)),  # only an invalid value left
    ("2026-06-01", _outcome(monthly_income=12000.0, income_source="self_reported")),
    ("2026-02-01", _outcome(monthly_income=-500.0, income_source="declared", age=300)),
    ("2099-01-01", _outcome()),
    ("2026-03-01", _outcome("u_bad_1900")),
]

# (table, key) -> (reject_reason, {column: expected staged value}); keys from key_of()
EXPECTED: dict[tuple[str, str], tuple[str | None, dict]] = {
    ("users", f"{OK_USER}|5.1.0"): (None, {}),
    ("users", "u_bad_tab|5.1.0"): (None, {}),
    ("users", "u_bad_nbsp|5.1.0"): (None, {}),
    ("users", "u_bad_1900|5.1.0"): ("signup_date_out_of_range", {}),
    ("users", "u_bad_2099|5.1.0"): ("signup_date_out_of_range", {}),
    ("users", "u_bad_late|5.1.0"): (None, {}),
    ("users", "u_bad_city|5.1.0"): (None, {"city": None}),
    ("users", "u_bad_utf8|5.1.0"): ("invalid_utf8_text", {}),
    ("users", "u_bad_dup|1.0.0"): (None, {}),
    ("users", "u_bad_dup|2.0.0"): ("duplicate_user_id", {}),
    ("ride_orders", "bad-ride-nan|100.0"): (None, {"fare_mxn": None, "has_invalid_fare_mxn": True}),
    ("ride_orders", "bad-ride-inf|100.0"): (None, {"fare_mxn": None, "has_invalid_fare_mxn": True,
                                                   "distance_km": None, "has_invalid_distance_km": True}),
    ("ride_orders", "bad-ride-huge|100.0"): (None, {"fare_mxn": None, "has_invalid_fare_mxn": True,
                                                    "distance_km": None, "has_invalid_distance_km": True}),
    ("ride_orders", "bad-ride-bitcoin|100.0"): (None, {"payment_method": None, "has_unknown_payment_method": True,
                                                       "fare_mxn": 100.0, "has_invalid_fare_mxn": False}),
    ("ride_orders", "bad-ride-completado|100.0"): ("unknown_order_status", {}),
    ("ride_orders", "bad-ride-nullstatus|100.0"): ("missing_order_status", {}),
    ("ride_orders", "bad-ride-2099|100.0"): ("landing_dt_out_of_window", {}),
    ("ride_orders", "bad-ride-1999|100.0"): ("landing_dt_out_of_window", {}),
    ("ride_orders", "bad-ride-before-signup|100.0"): ("order_before_signup", {}),
    ("ride_orders", "bad-ride-late-ok|100.0"): (None, {}),
    ("ride_orders", "bad-ride-tab|100.0"): (None, {"user_id": "u_bad_tab"}),
    ("ride_orders", "bad-ride-nbsp|100.0"): (None, {"user_id": "u_bad_nbsp"}),
    ("ride_orders", "bad-ride-rejected-user|100.0"): ("rejected_user_id", {}),
    ("ride_orders", "bad-ride-ctrl|100.0"): (None, {"pickup_poi_name": "Hos pital Gene ral", "pickup_address": None,
                                                    "dropoff_poi_name": "HOSPITAL", "dropoff_poi_key": "hospital"}),
    ("ride_orders", "bad-ride-tie|150.0"): (None, {}),
    ("ride_orders", "bad-ride-tie|200.0"): ("duplicate_order_id", {}),
    ("ride_orders", "bad-ride-utf8|100.0"): ("invalid_utf8_text", {}),
    ("delivery_orders", "bad-delivery-nan|120.0"): (None, {"amount_mxn": None, "has_invalid_amount_mxn": True}),
    ("delivery_orders", "bad-delivery-ninf|120.0"): (None, {"amount_mxn": None, "has_invalid_amount_mxn": True,
                                                           "payment_method": None, "has_unknown_payment_method": True}),
    ("delivery_orders", "bad-delivery-titles|120.0"): (None, {"amount_mxn": 120.0}),
    ("delivery_orders", "bad-delivery-utf8|120.0"): ("invalid_utf8_text", {}),
    ("delivery_orders", "bad-delivery-refunded-ok|120.0"): (None, {"order_status": "refunded"}),
    ("delivery_orders", "bad-delivery-unknown-status|120.0"): ("unknown_order_status", {}),
    ("outcomes", f"{OK_USER}|2026-03-01|None"): ("duplicate_user_month", {}),
    ("outcomes", f"{OK_USER}|2026-03-01|9000.0"): (None, {"monthly_income": 9000.0, "income_source": "declared"}),
    ("outcomes", f"{OK_USER}|2026-04-01|None"): (None, {"monthly_income": None, "has_invalid_monthly_income": True,
                                                      "income_source": None, "overdue_flag": 1}),
    ("outcomes", f"{OK_USER}|2026-05-01|None"): ("no_valid_outcome", {}),
    ("outcomes", f"{OK_USER}|2026-06-01|12000.0"): (None, {"monthly_income": 12000.0, "income_source": None,
                                                          "has_unknown_income_source": True}),
    ("outcomes", f"{OK_USER}|2026-02-01|None"): (None, {"monthly_income": None, "income_source": None,
                                                         "has_invalid_monthly_income": True, "age": None,
                                                         "has_invalid_age": True}),
    ("outcomes", f"{OK_USER}|2099-01-01|None"): ("dt_out_of_window", {}),
    ("outcomes", "u_bad_1900|2026-03-01|None"): ("rejected_user_id", {}),
}


def key_of(table: str, row: dict, dt: str | None = None) -> str:
    """The key a crafted raw row (ids cleaned the way staging cleans them) is expected under."""
    strip = "\t\u00a0\u3000\ufeff "
    if table == "users":
        return f"{row['user_id'].strip(strip)}|{row['app_version']}"
    if table == "outcomes":
        income = row["monthly_income"]
        shown = income if income is not None and math.isfinite(income) and 0 < income < 5e6 else None
        return f"{row['user_id'].strip(strip)}|{dt}|{shown}"
    amount = row["fare_mxn"] if table == "ride_orders" else row["amount_mxn"]
    base = {"ride_orders": 100.0, "delivery_orders": 120.0}[table]
    # amounts that staging nulls are keyed by the template amount
    shown = amount if amount is not None and math.isfinite(amount) and 0 <= amount < 1e6 else base
    return f"{row['order_id'].strip(strip)}|{shown}"


def _table(spec, rows: list[dict]) -> pa.Table:
    """Rows -> arrow; bytes values of string columns are written as raw (invalid UTF-8) bytes."""
    columns = {}
    for field in spec.arrow:
        values = [row.get(field.name) for row in rows]
        if pa.types.is_string(field.type) and any(isinstance(v, bytes) for v in values):
            binary = pa.array([v if v is None or isinstance(v, bytes) else v.encode() for v in values], pa.binary())
            columns[field.name] = pa.Array.from_buffers(pa.string(), len(binary), binary.buffers())
        else:
            columns[field.name] = pa.array(values, field.type)
    return pa.table(columns, schema=spec.arrow)


def write_into(landing: Path) -> None:
    """Append the crafted rows to a landing zone (one extra file per table and month)."""
    pq.write_table(_table(USERS, USERS_ROWS), landing / "raw" / "users" / FILE_NAME)
    for spec, folder, rows in (
        (RIDE_ORDERS, "ride_orders", RIDE_ROWS),
        (DELIVERY_ORDERS, "delivery_orders", DELIVERY_ROWS),
        (OUTCOMES, "outcomes", OUTCOME_ROWS),
    ):
        for dt in sorted({dt for dt, _ in rows}):
            target = landing / "raw" / folder / f"dt={dt}"
            target.mkdir(parents=True, exist_ok=True)
            pq.write_table(_table(spec, [row for d, row in rows if d == dt]), target / FILE_NAME)


def crafted_keys() -> dict[str, list[str]]:
    """Every crafted row's key per table, in file order (a key may repeat only where EXPECTED says)."""
    return {
        "users": [key_of("users", row) for row in USERS_ROWS],
        "ride_orders": [key_of("ride_orders", row) for _, row in RIDE_ROWS],
        "delivery_orders": [key_of("delivery_orders", row) for _, row in DELIVERY_ROWS],
        "outcomes": [key_of("outcomes", row, dt) for dt, row in OUTCOME_ROWS],
    }

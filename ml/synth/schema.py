"""The landing-zone contract: table locations and exact Arrow schemas.

Other code (dbt sources, Spark readers, tests) depends on these names and
types; change them only together with those consumers.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class TableSpec:
    """One landing table: ``<out>/<schema>/<table>/[dt=YYYY-MM-01/]part-NNNNN.parquet``."""

    schema: str
    table: str
    partitioned: bool  # by month: hive directory dt=YYYY-MM-01, dt not stored in the file
    arrow: pa.Schema

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.table}"


USERS = TableSpec("raw", "users", False, pa.schema([
    ("user_id", pa.string()),
    ("signup_date", pa.date32()),
    ("city", pa.string()),
    ("device_os", pa.string()),
    ("app_version", pa.string()),
    ("referral_channel", pa.string()),
    ("full_name", pa.string()),
    ("email_domain", pa.string()),
    ("phone_carrier", pa.string()),
]))

RIDE_ORDERS = TableSpec("raw", "ride_orders", True, pa.schema([
    ("order_id", pa.string()),
    ("user_id", pa.string()),
    ("order_ts", pa.timestamp("us")),
    ("pickup_lat", pa.float64()),
    ("pickup_lon", pa.float64()),
    ("dropoff_lat", pa.float64()),
    ("dropoff_lon", pa.float64()),
    ("pickup_poi_name", pa.string()),
    ("pickup_address", pa.string()),
    ("dropoff_poi_name", pa.string()),
    ("dropoff_address", pa.string()),
    ("fare_mxn", pa.float64()),
    ("distance_km", pa.float64()),
    ("payment_method", pa.string()),
    ("status", pa.string()),
]))

DELIVERY_ORDERS = TableSpec("raw", "delivery_orders", True, pa.schema([
    ("order_id", pa.string()),
    ("user_id", pa.string()),
    ("order_ts", pa.timestamp("us")),
    ("store_name", pa.string()),
    ("item_titles", pa.list_(pa.string())),
    ("delivery_address", pa.string()),
    ("delivery_lat", pa.float64()),
    ("delivery_lon", pa.float64()),
    ("amount_mxn", pa.float64()),
    ("payment_method", pa.string()),
    ("status", pa.string()),
]))

OUTCOMES = TableSpec("raw", "outcomes", True, pa.schema([
    ("user_id", pa.string()),
    ("overdue_flag", pa.int32()),
    ("age", pa.int32()),
    ("monthly_income", pa.float64()),
    ("income_source", pa.string()),
]))

TRUTH = TableSpec("raw_oracle", "truth", True, pa.schema([
    ("user_id", pa.string()),
    ("persona", pa.string()),
    ("default_prob", pa.float64()),
    ("default_prob_observable", pa.float64()),  # z_hidden and month jitter integrated out
    ("age_bucket", pa.int32()),
    ("income_mxn", pa.float64()),
]))

TABLES: tuple[TableSpec, ...] = (USERS, RIDE_ORDERS, DELIVERY_ORDERS, OUTCOMES, TRUTH)

#: Final statuses (the dirt adds DUPLICATE rows with status "in_progress").
RIDE_STATUSES: tuple[str, ...] = ("completed", "cancelled", "no_show")
DELIVERY_STATUSES: tuple[str, ...] = ("completed", "cancelled", "refunded")
PAYMENT_METHODS: tuple[str, ...] = ("cash", "debit_card", "credit_card", "wallet")
INCOME_SOURCES: tuple[str, ...] = ("declared", "verified")

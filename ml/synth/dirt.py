"""Realistic data-quality faults planted in the landing data.

Each fault has a module-level rate so tests (and the dbt staging models) can
reason about it.  All faults are drawn from the chunk's seeded RNG, so they are
as deterministic as the clean data.  Rates are per row unless stated.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date

import numpy as np

# --- rates --------------------------------------------------------------------

#: Share of POI / store / SKU mentions written as a non-canonical variant
#: (abbreviation, upper-case without accents, lower case, typo, extra suffix).
NAME_VARIANT_RATE = 0.18
#: Share of POI / store names and SKU titles carrying emoji.
EMOJI_RATE = 0.004
#: Share of delivery addresses and SKU titles that are overlong (> 500 chars:
#: copy-pasted delivery instructions, marketplace-style item descriptions).
OVERLONG_RATE = 0.001
#: Nulls per column (rides / deliveries).  Coordinates are nulled as pairs.
NULL_RATES: dict[str, float] = {
    "pickup_poi_name": 0.03,
    "dropoff_poi_name": 0.03,
    "pickup_address": 0.01,
    "dropoff_address": 0.02,
    "pickup_coords": 0.004,
    "dropoff_coords": 0.004,
    "fare_mxn": 0.005,
    "distance_km": 0.01,
    "payment_method": 0.01,
    "store_name": 0.01,
    "item_titles": 0.005,
    "delivery_address": 0.02,
    "delivery_coords": 0.005,
    "amount_mxn": 0.004,
}
#: Same order_id repeated with identical content (double ingestion).
DUPLICATE_EXACT_RATE = 0.01
#: Same order_id first landed with the non-final status IN_PROGRESS_STATUS and
#: again with its final status (later event, written after it in the file).
DUPLICATE_STATUS_RATE = 0.006
IN_PROGRESS_STATUS = "in_progress"
#: Coordinates that are impossible: lat=999/lon=999, exactly (0, 0), or lat
#: and lon swapped.  Applied to pickup, dropoff and delivery points.
BAD_COORD_RATE = 0.002
#: Device clock skew of 1-6 h: order_ts no longer increases with order_id.
TS_SKEW_RATE = 0.004
#: order_ts moved 1-40 days outside its dt month (late-arriving / mis-dated).
TS_OUT_OF_MONTH_RATE = 0.0005
#: order_ts missing.
TS_NULL_RATE = 0.001
#: Users that signed up but never ordered anything (dormant accounts).
USERS_WITHOUT_ORDERS_RATE = 0.04
#: device_os / payment_method / email_domain written in a non-canonical way.
CATEGORICAL_VARIANT_RATE = 0.04

#: The one planted drift: in the 5th generated month (month_index 4) a
#: delivery promo lowers every delivery ``amount_mxn`` by 40 %.  No other
#: numeric column drifts.  ``dt`` is for the default --start-month 2026-01;
#: use ``drift_dt(start_month)`` for other starts.
DRIFT: dict[str, object] = {
    "schema": "raw",
    "table": "delivery_orders",
    "column": "amount_mxn",
    "month_index": 4,
    "dt": "2026-05-01",
    "factor": 0.60,
    "reason": "delivery promo: -40% on every order in one month",
}


def drift_dt(start_month: date) -> str:
    """The dt (YYYY-MM-01) of the drift month for a given start month."""
    m = start_month.month - 1 + int(DRIFT["month_index"])  # type: ignore[arg-type]
    return date(start_month.year + m // 12, m % 12 + 1, 1).isoformat()


# --- string variants (used when building catalogues; pure Python, small) ------

ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("Aeropuerto Internacional", "Aeropuerto Intl"),
    ("Hospital General", "Hosp. Gral."),
    ("Hospital", "Hosp."),
    ("General", "Gral."),
    ("Universidad", "Univ."),
    ("Instituto", "Inst."),
    ("Escuela Primaria", "Esc. Prim."),
    ("Farmacia", "Farm."),
    ("Farmacias", "Farms."),
    ("Centro Comercial", "C.C."),
    ("Casa de Empeño", "Casa Empeño"),
    ("Mercado Municipal", "Mdo. Mpal."),
    ("Mercado", "Mdo."),
    ("Parroquia", "Parr."),
    ("Avenida", "Av."),
    ("Boulevard", "Blvd."),
    ("Calzada", "Calz."),
    ("Colonia", "Col."),
    ("Fraccionamiento", "Fracc."),
    ("Número", "No."),
    ("Nacional", "Nal."),
    ("Santa ", "Sta. "),
    ("San ", "Sn. "),
    ("Restaurante", "Rest."),
    ("Supermercado", "Super"),
    ("Gimnasio", "Gym"),
    ("Préstamos", "Prestamos"),
    ("Central de Autobuses", "Central Camionera"),
    ("Terminal", "Term."),
    ("Torre", "Tr."),
    ("Corporativo", "Corp."),
    ("Paquete", "Paq."),
    ("piezas", "pzas"),
    ("tabletas", "tabs"),
)
EMOJIS: tuple[str, ...] = ("🌮", "🍺", "🔥", "⭐", "🏥", "✈️", "🎰", "💊", "🛒", "😀", "🙏", "💰", "🍣", "🍷", "👶")
SUFFIXES: tuple[str, ...] = (" T1", " Terminal 2", " (Entrada Principal)", " - Sucursal Centro", " Urgencias",
                              " Acceso 3", " #2", " local 14", " planta baja")


def strip_accents(s: str) -> str:
    """Drop diacritics (á -> a, ñ -> n) the way many legacy systems do."""
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def abbreviate(s: str) -> str:
    """Apply the usual Mexican abbreviations (Hospital General -> Hosp. Gral.)."""
    for long, short in ABBREVIATIONS:
        s = s.replace(long, short)
    return s


def typo(s: str, rnd: random.Random) -> str:
    """One keyboard slip: dropped, doubled or swapped letter."""
    if len(s) < 4:
        return s + s[-1:]
    i = rnd.randrange(1, len(s) - 2)
    kind = rnd.randrange(3)
    if kind == 0:
        return s[:i] + s[i + 1 :]
    if kind == 1:
        return s[:i] + s[i] + s[i:]
    return s[:i] + s[i + 1] + s[i] + s[i + 2 :]


#: Order of the variants produced by ``name_variants``; index 0 is canonical,
#: the last one carries emoji.
N_NAME_VARIANTS = 6


def name_variants(name: str, rnd: random.Random) -> list[str]:
    """Canonical name plus the spellings a free-text system accumulates."""
    ab = abbreviate(name)
    return [
        name,
        ab,
        strip_accents(ab).upper() + rnd.choice(SUFFIXES).upper(),
        strip_accents(name).lower(),
        typo(name, rnd) if rnd.random() < 0.5 else "  " + name.replace(" ", "  ") + " ",
        name + " " + rnd.choice(EMOJIS) + (rnd.choice(EMOJIS) if rnd.random() < 0.5 else ""),
    ]


_LONG_NOTES: dict[str, tuple[str, ...]] = {
    "address": (
        "Favor de tocar el timbre del portón negro, si no abren marcar al celular, dejar con el vigilante "
        "de la caseta, no dejar en la banqueta por favor porque se lo roban, gracias!!! ",
        "Entre calle Hidalgo y calle Morelos, frente a la tiendita de la esquina, casa color amarillo con "
        "rejas blancas, hay un perro pero no muerde, subir al tercer piso departamento del fondo. ",
    ),
    "title": (
        "ENVIO GRATIS!!! producto original con garantía, 100% nuevo, entrega inmediata, pregunta por "
        "disponibilidad, aceptamos devoluciones, calidad premium, el mejor precio del mercado, oferta ",
        "Presentación familiar, ideal para compartir, ingredientes seleccionados, sin conservadores "
        "artificiales, consulte información nutrimental y alérgenos en tienda, imagen ilustrativa. ",
    ),
}


def overlong(s: str, rnd: random.Random, kind: str = "title") -> str:
    """Pad a string past 500 characters with copy-pasted notes (kind: "title" or "address")."""
    out = s + " - "
    while len(out) <= 520:
        out += rnd.choice(_LONG_NOTES[kind])
    return out


# --- array-level faults (vectorised; run per chunk-month) ---------------------


def variant_index(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pick which spelling of a name each mention uses (0 = canonical)."""
    v = np.zeros(n, dtype=np.int64)
    r = rng.random(n)
    dirty = r < NAME_VARIANT_RATE
    v[dirty] = rng.integers(1, N_NAME_VARIANTS - 1, int(dirty.sum()))
    v[rng.random(n) < EMOJI_RATE] = N_NAME_VARIANTS - 1
    return v


def null_mask(rng: np.random.Generator, n: int, column: str) -> np.ndarray:
    """Rows of ``column`` to null out (rate from NULL_RATES)."""
    return rng.random(n) < NULL_RATES[column]


def corrupt_coords(rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plant impossible coordinates: 999/999, 0/0, or lat/lon swapped."""
    lat, lon = lat.copy(), lon.copy()
    idx = np.flatnonzero(rng.random(lat.shape[0]) < BAD_COORD_RATE)
    kind = rng.integers(0, 3, idx.shape[0])
    i999, i00, isw = idx[kind == 0], idx[kind == 1], idx[kind == 2]
    lat[i999], lon[i999] = 999.0, 999.0
    lat[i00], lon[i00] = 0.0, 0.0
    lat[isw], lon[isw] = lon[isw].copy(), lat[isw].copy()
    return lat, lon


def corrupt_timestamps(rng: np.random.Generator, ts_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clock skew, out-of-month dates and nulls.  Returns (ts_us, null_mask)."""
    ts = ts_us.copy()
    n = ts.shape[0]
    hour = 3_600_000_000
    skew = rng.random(n) < TS_SKEW_RATE
    ts[skew] += rng.choice([-1, 1], int(skew.sum())) * rng.integers(1, 7, int(skew.sum())) * hour
    out = rng.random(n) < TS_OUT_OF_MONTH_RATE
    ts[out] += rng.choice([-1, 1], int(out.sum())) * rng.integers(32, 41, int(out.sum())) * 24 * hour
    return ts, rng.random(n) < TS_NULL_RATE


def duplicate_plan(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row order after planting duplicates.

    Returns (take, in_progress): ``take`` indexes the clean rows (so a row may
    appear 2x), ``in_progress`` marks the copies whose status must be replaced
    by IN_PROGRESS_STATUS; such a copy is placed right before its final row.
    """
    exact = np.flatnonzero(rng.random(n) < DUPLICATE_EXACT_RATE)
    status = np.flatnonzero(rng.random(n) < DUPLICATE_STATUS_RATE)
    rows = np.concatenate([np.arange(n), exact, status])
    sub = np.concatenate([np.zeros(n, np.int8), np.ones(exact.shape[0], np.int8), -np.ones(status.shape[0], np.int8)])
    order = np.lexsort((sub, rows))
    return rows[order], sub[order] == -1


DEVICE_OS_VARIANTS: dict[str, tuple[str, ...]] = {
    "android": ("Android", "ANDROID", "android ", "Android OS", "andriod"),
    "ios": ("iOS", "IOS", "iPhone OS", "ios "),
}
PAYMENT_VARIANTS: dict[str, tuple[str, ...]] = {
    "cash": ("CASH", "Efectivo", "efectivo "),
    "debit_card": ("DEBIT_CARD", "Tarjeta de débito", "debit card"),
    "credit_card": ("CREDIT_CARD", "Tarjeta de crédito", "credit"),
    "wallet": ("WALLET", "Saldo app", "wallet "),
}
CITY_VARIANTS: dict[str, tuple[str, ...]] = {
    "Ciudad de México": ("CDMX", "Ciudad de Mexico", "México D.F.", "CIUDAD DE MEXICO"),
    "Guadalajara": ("Guadalajara, Jal.", "GUADALAJARA", "Gdl"),
    "Monterrey": ("Monterrey, N.L.", "MONTERREY", "Mty"),
    "Puebla": ("Puebla de Zaragoza", "PUEBLA"),
    "Tijuana": ("TIJUANA", "Tijuana B.C."),
    "León": ("Leon", "León de los Aldama", "LEON"),
    "Querétaro": ("Queretaro", "Santiago de Querétaro", "QRO"),
    "Mérida": ("Merida", "MERIDA"),
    "Cancún": ("Cancun", "CANCUN", "Benito Juárez, Q.R."),
}
EMAIL_DOMAIN_VARIANTS: dict[str, tuple[str, ...]] = {
    "gmail.com": ("Gmail.com", "gmial.com", "gmail.con", "GMAIL.COM"),
    "hotmail.com": ("hotmial.com", "Hotmail.com", "hotmail.com.mx"),
    "outlook.com": ("outlok.com", "Outlook.com"),
    "yahoo.com.mx": ("yahoo.com", "yaho.com.mx"),
    "icloud.com": ("iCloud.com", "icloud.co"),
}


def categorical_pool(canonical: tuple[str, ...], variants: dict[str, tuple[str, ...]]) -> tuple[list[str], np.ndarray]:
    """String pool = canonical values followed by their variants.

    Returns (pool, variant_table) where ``variant_table[c]`` lists the pool
    indices of the variants of canonical value c (padded with c itself).
    """
    pool = list(canonical)
    width = max((len(v) for v in variants.values()), default=0) or 1
    table = np.repeat(np.arange(len(canonical))[:, None], width, axis=1)
    for c, name in enumerate(canonical):
        for j, v in enumerate(variants.get(name, ())):
            table[c, j] = len(pool)
            pool.append(v)
    return pool, table


def dirty_categorical(rng: np.random.Generator, codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Replace CATEGORICAL_VARIANT_RATE of canonical codes by a variant code."""
    out = codes.copy()
    d = np.flatnonzero(rng.random(codes.shape[0]) < CATEGORICAL_VARIANT_RATE)
    out[d] = table[codes[d], rng.integers(0, table.shape[1], d.shape[0])]
    return out

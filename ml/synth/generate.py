"""Chunked, vectorised generation of all landing tables and parquet writing.

Users are processed in chunks (``chunk_users``); within a chunk, each month is
generated and written before the next, so peak memory is bounded by one
chunk-month whatever the total population.  Every chunk-month draws from its
own ``numpy.random.default_rng([seed, chunk_idx, stream])``, and the
catalogues from the seed alone, so a run is a pure function of
(seed, users, months, start_month, chunk_users) -- not of worker count,
timing or hash seeds.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import dirt
from .personas import (
    DEFAULT_POI_WEIGHTS,
    DEFAULT_STORE_WEIGHTS,
    PERSONA_NAMES,
    PERSONAS,
    RISKY_CATEGORIES,
    RISKY_PLACE_COEF,
    RISKY_PLACE_SHIFT,
    UserLatents,
    draw_latents,
    month_truth,
)
from .places import (
    CAT_INDEX,
    CATEGORIES,
    CITIES,
    CITY_NAMES,
    CITY_TIMEZONES,
    CITY_WEIGHTS,
    N_ADDRESS_VARIANTS,
    PoiCatalogue,
    TextPools,
    build_catalogue,
    build_text_pools,
    haversine_km,
)
from .products import (
    ELDER_AGE,
    N_TITLE_VARIANTS,
    STORE_INDEX,
    STORE_TYPES,
    SkuTables,
    StoreCatalogue,
    build_sku_tables,
    build_store_catalogue,
    income_tier,
)
from .schema import (
    DELIVERY_ORDERS,
    DELIVERY_STATUSES,
    INCOME_SOURCES,
    OUTCOMES,
    PAYMENT_METHODS,
    RIDE_ORDERS,
    RIDE_STATUSES,
    TABLES,
    TRUTH,
    USERS,
    TableSpec,
)
from .timeprofiles import (
    FLEXIBLE_CATEGORIES,
    FLEXIBLE_STORES,
    RIDE_HOUR_CDF,
    RIDE_KEY_HEALTH_FROM,
    RIDE_KEY_HEALTH_TO,
    RIDE_KEY_NIGHT,
    STORE_HOUR_CDF,
    STORE_KEY_NIGHT,
)

V = dirt.N_NAME_VARIANTS
US_PER_DAY = 86_400_000_000
#: Signups: this share of users joined before the first generated month
#: (uniformly since SIGNUP_EPOCH, or one year before the start if later), the
#: rest during the generated window.
SIGNUP_BEFORE_SHARE = 0.85
SIGNUP_EPOCH = date(2019, 1, 1)
#: Probability that a (non-dormant, signed-up) user is active in a given month.
MONTH_ACTIVE_P = 0.92
#: Probability of taking a trip to the favourite POI of a category (the usual
#: workplace is even stickier).
FAVOURITE_P, WORK_FAVOURITE_P = 0.6, 0.95
#: Per-month probability that a KYC'd user's age / anyone's income is reported.
AGE_REPORT_P, INCOME_REPORT_P, INCOME_VERIFIED_P = 0.35, 0.25, 0.4

REFERRAL_CHANNELS = ("organic", "referral_friend", "facebook_ads", "google_ads", "tiktok_ads", "promo_code",
                     "loan_partner_ad")
PHONE_CARRIERS = ("telcel", "att", "movistar", "bait", "virgin_mobile")
EMAIL_DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com.mx", "icloud.com", "prodigy.net.mx")


def month_start(start: date, m: int) -> date:
    """First day of the m-th generated month."""
    k = start.month - 1 + m
    return date(start.year + k // 12, k % 12 + 1, 1)


def _days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _keyed_cdf(weights: np.ndarray) -> np.ndarray:
    """Row-wise CDFs shifted by row index, flattened (see ``_sample_rows``)."""
    c = np.cumsum(weights, axis=1)
    c /= c[:, -1:]
    c[:, -1] = 1.0
    return (c + np.arange(weights.shape[0])[:, None]).ravel()


def _sample_rows(cdf: np.ndarray, rows: np.ndarray, width: int, u: np.ndarray) -> np.ndarray:
    """Sample column j ~ row ``rows[i]``'s distribution, for all i at once."""
    return np.searchsorted(cdf, rows + u, side="right") - rows * width


def _padded(x: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(x), pa.string()), width=width, padding="0")


# --- world: everything that depends on the seed only ---------------------------


@dataclass
class World:
    """Seed-only catalogues and lookup tables shared by all chunks."""

    pools: TextPools
    poi: PoiCatalogue
    stores: StoreCatalogue
    skus: SkuTables
    persona_poi_w: np.ndarray  # (P, C)
    persona_store_w: np.ndarray  # (P, T)
    work_cat: np.ndarray  # (P,)
    res_flat: np.ndarray
    res_off: np.ndarray
    res_cnt: np.ndarray
    city_pool: pa.Array
    city_var: np.ndarray
    os_pool: pa.Array
    os_var: np.ndarray
    pay_pool: pa.Array
    pay_var: np.ndarray
    mail_pool: pa.Array
    mail_var: np.ndarray
    n_mail_canon: int
    app_pool: pa.Array
    ride_status_pool: pa.Array
    delivery_status_pool: pa.Array


def build_world(seed: int) -> World:
    """Build catalogues (POIs, stores, SKUs, vocab pools) from the seed alone."""
    pools = build_text_pools(seed)
    poi = build_catalogue(seed, pools)
    res = CAT_INDEX["residential"]
    colonias_by_city = [[poi.colonia_name[i] for i in ids] for ids in poi.res_by_nse]
    stores = build_store_catalogue(seed, pools, colonias_by_city)
    skus = build_sku_tables(seed)
    pw = np.array([[p.poi_weights.get(c, DEFAULT_POI_WEIGHTS[c]) for c in CATEGORIES] for p in PERSONAS])
    sw = np.array([[p.store_weights.get(s, DEFAULT_STORE_WEIGHTS[s]) for s in STORE_TYPES] for p in PERSONAS])
    work = np.array([CAT_INDEX[p.work_category or "residential"] for p in PERSONAS])
    res_cnt = np.array([ids.shape[0] for ids in poi.res_by_nse])
    res_off = np.concatenate([[0], np.cumsum(res_cnt)[:-1]])
    assert all(poi.cat[ids].tolist() == [res] * len(ids) for ids in poi.res_by_nse)
    city_pool, city_var = dirt.categorical_pool(CITY_NAMES, dirt.CITY_VARIANTS)
    os_pool, os_var = dirt.categorical_pool(("android", "ios"), dirt.DEVICE_OS_VARIANTS)
    pay_pool, pay_var = dirt.categorical_pool(PAYMENT_METHODS, dirt.PAYMENT_VARIANTS)
    mail_canon = EMAIL_DOMAINS + tuple(pools.domains)
    mail_pool, mail_var = dirt.categorical_pool(mail_canon, dirt.EMAIL_DOMAIN_VARIANTS)
    app_pool = [f"5.{minor}.{patch}" for minor in range(19) for patch in range(5)]
    return World(
        pools, poi, stores, skus, pw, sw, work, np.concatenate(poi.res_by_nse), res_off, res_cnt,
        pa.array(city_pool), city_var, pa.array(os_pool), os_var, pa.array(pay_pool), pay_var,
        pa.array(mail_pool), mail_var, len(mail_canon), pa.array(app_pool),
        pa.array(RIDE_STATUSES + (dirt.IN_PROGRESS_STATUS,)),
        pa.array(DELIVERY_STATUSES + (dirt.IN_PROGRESS_STATUS,)),
    )


def _local_to_utc(ts_local_us: np.ndarray, city: np.ndarray) -> np.ndarray:
    """Wall-clock microseconds in each row's city -> UTC microseconds (DST-aware)."""
    out = np.empty_like(ts_local_us)
    for c in np.unique(city):
        rows = city == c
        local = pd.DatetimeIndex(ts_local_us[rows].astype("datetime64[us]"))
        utc = local.tz_localize(CITY_TIMEZONES[CITIES[c].name], nonexistent="shift_forward", ambiguous=False)
        out[rows] = utc.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[us]").astype(np.int64)
    return out


# --- users ---------------------------------------------------------------------


@dataclass
class ChunkUsers:
    """Hidden and observable state of one chunk of users."""

    lo: int
    n: int
    lat: UserLatents
    city: np.ndarray
    home_poi: np.ndarray
    home_lat: np.ndarray
    home_lon: np.ndarray
    signup_day: np.ndarray  # days since epoch
    dormant: np.ndarray
    cat_cdf: np.ndarray  # keyed, n x C
    store_cdf: np.ndarray  # keyed, n x T
    fav_poi: np.ndarray  # (n, C) uniform -> favourite POI per category
    fav_store: np.ndarray  # (n, T)
    tier: np.ndarray
    old: np.ndarray
    credit_card_p: np.ndarray
    user_id: pa.Array
    addr_pool: pa.Array  # POI addresses, then 2 spellings of each user's home address


def make_users(world: World, rng: np.random.Generator, lo: int, n: int, start: date, months: int
               ) -> tuple[ChunkUsers, pa.Table]:
    """Draw a chunk of users and their ``raw.users`` rows."""
    lat = draw_latents(rng, n)
    poi = world.poi
    city = rng.choice(len(CITIES), size=n, p=CITY_WEIGHTS)
    # home colonia: richer users live in richer colonias (noisy)
    q = np.clip(_sigmoid(2.1 * (np.log(lat.income) - np.log(15_000))) + rng.normal(0, 0.15, n), 0, 1)
    home_poi = world.res_flat[world.res_off[city] + np.round(q * (world.res_cnt[city] - 1)).astype(np.int64)]
    home_lat = poi.lat[home_poi] + rng.uniform(-0.004, 0.004, n)
    home_lon = poi.lon[home_poi] + rng.uniform(-0.004, 0.004, n)

    start_day = _days(start)
    end_day = _days(month_start(start, months))
    before = rng.random(n) < SIGNUP_BEFORE_SHARE
    signup_day = np.where(
        before,
        rng.integers(min(_days(SIGNUP_EPOCH), start_day - 365), start_day, n),
        rng.integers(start_day, end_day, n),
    )
    dormant = rng.random(n) < dirt.USERS_WITHOUT_ORDERS_RATE

    # destination-category and store-type preferences: persona x individual taste x risk traits
    w = world.persona_poi_w[lat.persona] * rng.gamma(2.0, 0.5, (n, len(CATEGORIES)))
    risky = [CAT_INDEX[c] for c in RISKY_CATEGORIES]
    w[:, risky] *= np.exp(RISKY_PLACE_COEF * lat.z_text - RISKY_PLACE_SHIFT)[:, None]
    sw = world.persona_store_w[lat.persona] * rng.gamma(2.0, 0.5, (n, len(STORE_TYPES)))
    rich = (lat.income / 30_000.0) ** 1.2
    for s in ("sushi_premium", "supermercado_premium", "saludable"):
        sw[:, STORE_INDEX[s]] *= rich
    for s in ("conveniencia", "licoreria"):
        sw[:, STORE_INDEX[s]] *= np.exp(0.4 * lat.z_text)

    # --- observable user attributes
    uid_num = np.arange(lo + 1, lo + n + 1)
    user_id = pc.binary_join_element_wise("u", _padded(uid_num, 8), "")
    ios = rng.random(n) < _sigmoid(1.5 * (np.log(lat.income) - np.log(25_000)))
    os_code = dirt.dirty_categorical(rng, ios.astype(np.int64), world.os_var)
    lag = rng.geometric(0.35, n) - 1 + ((~ios) & (lat.income < 10_000)) * rng.integers(0, 3, n)
    app_code = np.clip(18 - lag, 0, 18) * 5 + rng.integers(0, 5, n)
    age0 = lat.age0
    rw = np.tile(np.array([0.35, 0.2, 0.12, 0.1, 0.1, 0.08, 0.05]), (n, 1))
    rw[:, 4] *= np.where(age0 < 30, 2.5, 0.7)
    rw[:, 6] *= np.exp(0.8 * lat.z_stat)
    ref_code = _sample_rows(_keyed_cdf(rw), np.arange(n), rw.shape[1], rng.random(n))
    mw = np.column_stack([
        np.full(n, 5.0), 1.5 + 1.5 * (age0 > 35), np.full(n, 0.8), 0.4 + 0.6 * (age0 > 45), 3.0 * ios,
        1.2 * (age0 >= 50), 2.0 * np.isin(lat.persona, [1, 7]) + 0.05,
    ])
    mail_code = _sample_rows(_keyed_cdf(mw), np.arange(n), mw.shape[1], rng.random(n))
    corp = mail_code == 6
    mail_code[corp] = 6 + rng.integers(0, world.n_mail_canon - 6, int(corp.sum()))
    mail_code = dirt.dirty_categorical(rng, mail_code, world.mail_var)
    carrier_w = np.tile(np.array([0.62, 0.15, 0.12, 0.08, 0.03]), (n, 1))
    carrier_w[:, 3] *= np.where(lat.income < 10_000, 2.5, 0.6)
    carrier = _sample_rows(_keyed_cdf(carrier_w), np.arange(n), 5, rng.random(n))

    pools = world.pools
    female = rng.random(n) < 0.5
    fi = rng.integers(0, 10**9, n)
    l1, l2 = rng.integers(0, len(pools.last), n), rng.integers(0, len(pools.last), n)
    shout = rng.random(n) < 0.06
    names = []
    for i in range(n):
        first = pools.first_female[fi[i] % len(pools.first_female)] if female[i] else \
            pools.first_male[fi[i] % len(pools.first_male)]
        s = f"{first} {pools.last[l1[i]]} {pools.last[l2[i]]}"
        names.append(dirt.strip_accents(s).upper() if shout[i] else s)

    # home addresses (2 spellings per user), appended after the POI addresses
    streets = rng.integers(0, len(pools.streets), n)
    num = rng.integers(1, 2500, n)
    interior = rng.integers(0, 40, n) * (rng.random(n) < 0.3)
    cp = rng.integers(0, 1000, n)
    homes: list[str] = []
    for i in range(n):
        c = CITIES[city[i]]
        col = poi.colonia_name[home_poi[i]]
        inner = f" Int. {interior[i]}" if interior[i] else ""
        cps = f"{c.cp_prefix}{cp[i]:03d}".ljust(5, "0")[:5]
        homes.append(f"{pools.streets[streets[i]]} {num[i]}{inner}, Col. {col}, C.P. {cps}, {c.name}, {c.state}")
        homes.append(dirt.abbreviate(f"{pools.streets[streets[i]]} #{num[i]}{inner} {col} {c.name}"))

    def nulls(arr: pa.Array, rate: float) -> pa.Array:
        return pc.if_else(pa.array(rng.random(n) < rate), pa.nulls(n, arr.type), arr)

    users = pa.Table.from_arrays([
        user_id,
        pa.array(signup_day.astype("int32"), pa.date32()),
        world.city_pool.take(pa.array(dirt.dirty_categorical(rng, city, world.city_var))),
        world.os_pool.take(pa.array(os_code)),
        nulls(world.app_pool.take(pa.array(app_code)), 0.01),
        nulls(pa.array(np.array(REFERRAL_CHANNELS, dtype=object)[ref_code]), 0.05),
        nulls(pa.array(names, pa.string()), 0.005),
        nulls(world.mail_pool.take(pa.array(mail_code)), 0.02),
        pa.array(np.array(PHONE_CARRIERS, dtype=object)[carrier]),
    ], schema=USERS.arrow)

    cu = ChunkUsers(
        lo=lo, n=n, lat=lat, city=city, home_poi=home_poi, home_lat=home_lat, home_lon=home_lon,
        signup_day=signup_day, dormant=dormant, cat_cdf=_keyed_cdf(w), store_cdf=_keyed_cdf(sw),
        fav_poi=rng.random((n, len(CATEGORIES))), fav_store=rng.random((n, len(STORE_TYPES))),
        tier=income_tier(lat.income), old=(lat.age0 >= ELDER_AGE).astype(np.int64),
        credit_card_p=_sigmoid(1.2 * (np.log(lat.income) - np.log(25_000))),
        user_id=user_id, addr_pool=pa.concat_arrays([poi.addresses, pa.array(homes, pa.string())]),
    )
    return cu, users


# --- orders --------------------------------------------------------------------


def _order_days(rng: np.random.Generator, cu: ChunkUsers, users: np.ndarray, ms_day: int, dim: int) -> np.ndarray:
    """Day-of-month of each order, never before the user's signup."""
    first = np.clip(cu.signup_day[users] - ms_day, 0, dim - 1)
    return first + np.floor(rng.random(users.shape[0]) * (dim - first)).astype(np.int64)


def _order_timestamps(rng: np.random.Generator, cu: ChunkUsers, users: np.ndarray, ms: date, dim: int,
                      hour: np.ndarray) -> np.ndarray:
    """UTC microseconds, whole seconds, for orders placed at local `hour` on a day of month `ms`."""
    ms_day = _days(ms)
    day = _order_days(rng, cu, users, ms_day, dim)
    ts = (ms_day + day) * US_PER_DAY + hour * 3_600_000_000 + rng.integers(0, 3_600_000_000, users.shape[0])
    return _local_to_utc((ts // 1_000_000) * 1_000_000, cu.city[users])


def _payment(rng: np.random.Generator, cu: ChunkUsers, users: np.ndarray, cash_mult: float) -> np.ndarray:
    r = rng.random(users.shape[0])
    cash = r < cu.lat.cash_share[users] * cash_mult
    credit = rng.random(users.shape[0]) < cu.credit_card_p[users]
    code = np.where(cash, 0, np.where(credit, 2, np.where(rng.random(users.shape[0]) < 0.7, 1, 3)))
    return code


def _ts_array(ts: np.ndarray, null: np.ndarray) -> pa.Array:
    return pa.array(ts, pa.int64(), mask=null).cast(pa.timestamp("us"))


def _order_ids(prefix: str, ms: date, chunk_idx: int, seq: np.ndarray) -> pa.Array:
    """Time-ordered ids: <prefix><yymm><chunk:05d><seq:08d>."""
    head = f"{prefix}{ms.year % 100:02d}{ms.month:02d}{chunk_idx:05d}"
    return pc.binary_join_element_wise(head, _padded(seq, 8), "")


def _monthly_counts(rng: np.random.Generator, cu: ChunkUsers, ms: date, dim: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Rides and deliveries per user this month (activity shocks = spend volatility)."""
    ms_day = _days(ms)
    avail = np.clip((ms_day + dim - cu.signup_day) / dim, 0.0, 1.0)
    active = (~cu.dormant) & (avail > 0) & (rng.random(cu.n) < MONTH_ACTIVE_P)
    vol = cu.lat.spend_vol
    shock = np.exp(rng.normal(0.0, 1.0, cu.n) * vol - vol**2 / 2)
    n_r = rng.poisson(cu.lat.ride_rate * shock * avail) * active
    n_d = rng.poisson(cu.lat.delivery_rate * shock * avail) * active
    return n_r, n_d


def _pick_poi(rng: np.random.Generator, world: World, cu: ChunkUsers, ru: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Destination category and POI for each trip of users ``ru``."""
    C = len(CATEGORIES)
    cat = _sample_rows(cu.cat_cdf, ru, C, rng.random(ru.shape[0]))
    work = world.work_cat[cu.lat.persona[ru]] == cat
    fav = rng.random(ru.shape[0]) < np.where(work, WORK_FAVOURITE_P, FAVOURITE_P)
    uu = np.where(fav, cu.fav_poi[ru, cat], rng.random(ru.shape[0]))
    c = cu.city[ru]
    poi = world.poi.off[c, cat] + np.floor(uu * world.poi.cnt[c, cat]).astype(np.int64)
    return cat, poi


def make_rides(world: World, rng: np.random.Generator, cu: ChunkUsers, n_r: np.ndarray, ms: date, dim: int,
               chunk_idx: int) -> pa.Table:
    """``raw.ride_orders`` rows of one chunk-month (clean, then dirtied)."""
    poi_t = world.poi
    ru = np.repeat(np.arange(cu.n), n_r)
    R = ru.shape[0]
    cat, poi = _pick_poi(rng, world, cu, ru)
    direction = rng.choice(3, R, p=[0.45, 0.45, 0.10])  # 0 home->poi, 1 poi->home, 2 poi->poi
    hop = np.flatnonzero(direction == 2)
    cat2, poi2 = cat.copy(), poi.copy()
    if hop.shape[0]:
        cat2[hop], poi2[hop] = _pick_poi(rng, world, cu, ru[hop])
    pick = np.where(direction == 0, cu.home_poi[ru], poi)
    drop = np.where(direction == 0, poi, np.where(direction == 1, cu.home_poi[ru], poi2))
    pick_home, drop_home = direction == 0, direction == 1

    # hour of day
    hkey = np.where(direction == 1, 2 * cat + 1, 2 * np.where(direction == 2, cat2, cat))
    hkey_cat = np.where(direction == 2, cat2, cat)
    health = (cu.lat.persona[ru] == PERSONA_NAMES.index("health_worker")) & (hkey_cat == CAT_INDEX["hospital"])
    hkey = np.where(health, np.where(direction == 1, RIDE_KEY_HEALTH_FROM, RIDE_KEY_HEALTH_TO), hkey)
    flexible = np.isin(hkey_cat, [CAT_INDEX[c] for c in FLEXIBLE_CATEGORIES])
    night = flexible & (rng.random(R) < cu.lat.night_w[ru])
    hkey = np.where(night, RIDE_KEY_NIGHT, hkey)
    hour = _sample_rows(RIDE_HOUR_CDF, hkey, 24, rng.random(R))
    ts = _order_timestamps(rng, cu, ru, ms, dim, hour)

    # geometry
    jit = lambda: rng.normal(0.0, 0.00012, R)  # noqa: E731 - GPS noise, ~13 m
    plat = np.where(pick_home, cu.home_lat[ru], poi_t.lat[pick]) + jit()
    plon = np.where(pick_home, cu.home_lon[ru], poi_t.lon[pick]) + jit()
    dlat = np.where(drop_home, cu.home_lat[ru], poi_t.lat[drop]) + jit()
    dlon = np.where(drop_home, cu.home_lon[ru], poi_t.lon[drop]) + jit()
    dist = haversine_km(plat, plon, dlat, dlon) * 1.3 * rng.lognormal(0.0, 0.08, R) + 0.3
    rush = ((hour >= 7) & (hour <= 9)) | ((hour >= 17) & (hour <= 20))
    late = (hour >= 22) | (hour <= 5)
    speed = np.where(rush, 16.0, np.where(late, 35.0, 24.0))
    minutes = dist / speed * 60.0 * rng.lognormal(0.0, 0.15, R)
    base = np.where(cu.city[ru] == 0, 35.0, 30.0)
    r = rng.random(R)
    pt = cu.lat.premium_tier[ru]
    tier_mult = np.where(r < 0.5 * pt, 1.9, np.where(r < pt, 1.3, 1.0))
    surge = np.where(rush & (rng.random(R) < 0.35), rng.uniform(1.1, 1.6, R), 1.0) * np.where(late, 1.15, 1.0)
    fare = np.maximum((base + 6.5 * dist + 1.9 * minutes) * tier_mult * surge * rng.lognormal(0, 0.05, R), 42.0)

    # status & payment
    r = rng.random(R)
    cancel = cu.lat.cancel_rate[ru]
    status = np.where(r < cancel, 1, np.where(r < cancel + 0.01, 2, 0))
    fare = np.where(status == 1, np.where(rng.random(R) < 0.6, 0.0, 35.0), np.where(status == 2, 45.0, fare))
    pay = dirt.dirty_categorical(rng, _payment(rng, cu, ru, 1.0), world.pay_var)

    # text: name/address spellings
    pname = pick * V + dirt.variant_index(rng, R)
    dname = drop * V + dirt.variant_index(rng, R)
    n_poi_addr = poi_t.city.shape[0] * N_ADDRESS_VARIANTS
    avar = lambda: np.where(rng.random(R) < 0.8, 0, rng.integers(1, N_ADDRESS_VARIANTS, R))  # noqa: E731
    hvar = lambda: (rng.random(R) < 0.15).astype(np.int64)  # noqa: E731
    paddr = np.where(pick_home, n_poi_addr + 2 * ru + hvar(), pick * N_ADDRESS_VARIANTS + avar())
    daddr = np.where(drop_home, n_poi_addr + 2 * ru + hvar(), drop * N_ADDRESS_VARIANTS + avar())

    # order ids follow time; then the dirt
    order = np.argsort(ts, kind="stable")
    cols = dict(ru=ru, ts=ts, plat=plat, plon=plon, dlat=dlat, dlon=dlon, pname=pname, dname=dname,
                paddr=paddr, daddr=daddr, fare=np.round(fare, 2), dist=np.round(dist, 2), pay=pay, status=status)
    cols = {k: v[order] for k, v in cols.items()}
    cols["seq"] = np.arange(R)
    cols["ts"], ts_null = dirt.corrupt_timestamps(rng, cols["ts"])
    cols["plat"], cols["plon"] = dirt.corrupt_coords(rng, cols["plat"], cols["plon"])
    cols["dlat"], cols["dlon"] = dirt.corrupt_coords(rng, cols["dlat"], cols["dlon"])
    masks = {k: dirt.null_mask(rng, R, k) for k in dirt.NULL_RATES if k in {
        "pickup_poi_name", "dropoff_poi_name", "pickup_address", "dropoff_address", "pickup_coords",
        "dropoff_coords", "fare_mxn", "distance_km", "payment_method"}}
    masks["ts"] = ts_null
    take, in_prog = dirt.duplicate_plan(rng, R)
    cols = {k: v[take] for k, v in cols.items()}
    masks = {k: v[take] for k, v in masks.items()}
    cols["status"] = np.where(in_prog, len(RIDE_STATUSES), cols["status"])
    # an in-progress event has no final fare yet
    masks["fare_mxn"] = masks["fare_mxn"] | in_prog

    s = lambda pool, idx, m: pool.take(pa.array(idx, mask=m))  # noqa: E731
    f = lambda x, m: pa.array(x, pa.float64(), mask=m)  # noqa: E731
    return pa.Table.from_arrays([
        _order_ids("R", ms, chunk_idx, cols["seq"]),
        cu.user_id.take(pa.array(cols["ru"])),
        _ts_array(cols["ts"], masks["ts"]),
        f(np.round(cols["plat"], 6), masks["pickup_coords"]), f(np.round(cols["plon"], 6), masks["pickup_coords"]),
        f(np.round(cols["dlat"], 6), masks["dropoff_coords"]), f(np.round(cols["dlon"], 6), masks["dropoff_coords"]),
        s(poi_t.names, cols["pname"], masks["pickup_poi_name"]),
        s(cu.addr_pool, cols["paddr"], masks["pickup_address"]),
        s(poi_t.names, cols["dname"], masks["dropoff_poi_name"]),
        s(cu.addr_pool, cols["daddr"], masks["dropoff_address"]),
        f(cols["fare"], masks["fare_mxn"]), f(cols["dist"], masks["distance_km"]),
        s(world.pay_pool, cols["pay"], masks["payment_method"]),
        world.ride_status_pool.take(pa.array(cols["status"])),
    ], schema=RIDE_ORDERS.arrow)


def make_deliveries(world: World, rng: np.random.Generator, cu: ChunkUsers, n_d: np.ndarray, ms: date, dim: int,
                    chunk_idx: int, month_idx: int) -> pa.Table:
    """``raw.delivery_orders`` rows of one chunk-month (clean, then dirtied, then the drift)."""
    T = len(STORE_TYPES)
    du = np.repeat(np.arange(cu.n), n_d)
    D = du.shape[0]
    stype = _sample_rows(cu.store_cdf, du, T, rng.random(D))
    fav = rng.random(D) < 0.6
    uu = np.where(fav, cu.fav_store[du, stype], rng.random(D))
    c = cu.city[du]
    store = world.stores.off[c, stype] + np.floor(uu * world.stores.cnt[c, stype]).astype(np.int64)

    flexible = np.isin(stype, [STORE_INDEX[s] for s in FLEXIBLE_STORES])
    night = flexible & (rng.random(D) < cu.lat.night_w[du])
    hkey = np.where(night, STORE_KEY_NIGHT, stype)
    hour = _sample_rows(STORE_HOUR_CDF, hkey, 24, rng.random(D))
    ts = _order_timestamps(rng, cu, du, ms, dim, hour)

    # basket
    persona = cu.lat.persona[du]
    k = 1 + rng.poisson(np.array([p.basket_items for p in PERSONAS])[persona] * np.where(cu.tier[du] == 2, 1.3, 1.0))
    k = np.minimum(k, 8)
    iu = np.repeat(du, k)
    it = np.repeat(stype, k)
    n_items = iu.shape[0]
    sk: SkuTables = world.skus
    stress = (rng.random(n_items) < cu.lat.stress_sku[iu]) & sk.has_stress[it]
    key = ((cu.lat.persona[iu] * 3 + cu.tier[iu]) * 2 + cu.old[iu]) * T + it
    key = np.where(stress, sk.n_normal_keys + it, key)
    sku = sk.sku_of[np.searchsorted(sk.cdf, key + rng.random(n_items), side="right")]
    qty = 1 + (rng.random(n_items) < 0.2) + (rng.random(n_items) < 0.05)
    var = dirt.variant_index(rng, n_items)
    var[rng.random(n_items) < dirt.OVERLONG_RATE] = N_TITLE_VARIANTS - 1
    offsets = np.concatenate([[0], np.cumsum(k)])
    items = pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()), sk.titles.take(pa.array(sku * N_TITLE_VARIANTS + var)),
        mask=pa.array(dirt.null_mask(rng, D, "item_titles")))
    subtotal = np.add.reduceat(sk.price[sku] * qty, offsets[:-1]) if D else np.zeros(0)
    tip = subtotal * np.clip(rng.normal(0.05, 0.03, D) * np.where(cu.tier[du] == 2, 2.0, 1.0), 0, None)
    amount = subtotal * rng.lognormal(0, 0.05, D) + rng.integers(15, 50, D) + tip
    if month_idx == dirt.DRIFT["month_index"]:
        amount = amount * float(dirt.DRIFT["factor"])  # type: ignore[arg-type]

    # address: home mostly, workplace sometimes (retirees and gig workers have no office to order to)
    no_office = np.isin(persona, [PERSONA_NAMES.index("retiree"), PERSONA_NAMES.index("gig_worker")])
    at_work = (rng.random(D) < 0.15) & ~no_office
    wcat = world.work_cat[persona]
    wpoi = world.poi.off[c, wcat] + np.floor(cu.fav_poi[du, wcat] * world.poi.cnt[c, wcat]).astype(np.int64)
    n_poi_addr = world.poi.city.shape[0] * N_ADDRESS_VARIANTS
    addr = np.where(at_work, wpoi * N_ADDRESS_VARIANTS, n_poi_addr + 2 * du + (rng.random(D) < 0.15))
    alat = np.where(at_work, world.poi.lat[wpoi], cu.home_lat[du]) + rng.normal(0, 0.0001, D)
    alon = np.where(at_work, world.poi.lon[wpoi], cu.home_lon[du]) + rng.normal(0, 0.0001, D)
    r = rng.random(D)
    canc = cu.lat.cancel_rate[du] * 0.6
    status = np.where(r < canc, 1, np.where(r < canc + 0.01, 2, 0))
    pay = dirt.dirty_categorical(rng, _payment(rng, cu, du, 0.7), world.pay_var)
    sname = store * V + dirt.variant_index(rng, D)

    order = np.argsort(ts, kind="stable")
    cols = dict(du=du, ts=ts, sname=sname, addr=addr, alat=alat, alon=alon, amount=amount, pay=pay,
                status=status, row=np.arange(D))
    cols = {k2: v[order] for k2, v in cols.items()}
    cols["seq"] = np.arange(D)
    cols["ts"], ts_null = dirt.corrupt_timestamps(rng, cols["ts"])
    cols["alat"], cols["alon"] = dirt.corrupt_coords(rng, cols["alat"], cols["alon"])
    masks = {k2: dirt.null_mask(rng, D, k2) for k2 in (
        "store_name", "delivery_address", "delivery_coords", "amount_mxn", "payment_method")}
    masks["ts"] = ts_null
    long_addr = rng.random(D) < dirt.OVERLONG_RATE
    take, in_prog = dirt.duplicate_plan(rng, D)
    cols = {k2: v[take] for k2, v in cols.items()}
    masks = {k2: v[take] for k2, v in masks.items()}
    long_addr = long_addr[take]
    cols["status"] = np.where(in_prog, len(DELIVERY_STATUSES), cols["status"])

    address = cu.addr_pool.take(pa.array(cols["addr"], mask=masks["delivery_address"]))
    rnd = random.Random(int(rng.integers(0, 2**31)))
    long_addr &= ~masks["delivery_address"]
    if long_addr.any():
        longs = [dirt.overlong(a, rnd, "address") for a in address.filter(pa.array(long_addr)).to_pylist()]
        address = pc.replace_with_mask(address, pa.array(long_addr), pa.array(longs, pa.string()))
    f = lambda x, m: pa.array(x, pa.float64(), mask=m)  # noqa: E731
    return pa.Table.from_arrays([
        _order_ids("D", ms, chunk_idx, cols["seq"]),
        cu.user_id.take(pa.array(cols["du"])),
        _ts_array(cols["ts"], masks["ts"]),
        world.stores.names.take(pa.array(cols["sname"], mask=masks["store_name"])),
        items.take(pa.array(cols["row"])),
        address,
        f(np.round(cols["alat"], 6), masks["delivery_coords"]), f(np.round(cols["alon"], 6), masks["delivery_coords"]),
        f(np.round(cols["amount"], 2), masks["amount_mxn"]),
        world.pay_pool.take(pa.array(cols["pay"], mask=masks["payment_method"])),
        world.delivery_status_pool.take(pa.array(cols["status"])),
    ], schema=DELIVERY_ORDERS.arrow)


def make_labels(rng: np.random.Generator, cu: ChunkUsers, ms: date, dim: int, month_idx: int
                ) -> tuple[pa.Table, pa.Table]:
    """``raw_oracle.truth`` (every user) and ``raw.outcomes`` (observed labels) of one month."""
    t = month_truth(rng, cu.lat, month_idx)
    n = cu.n
    truth = pa.Table.from_arrays([
        cu.user_id,
        pa.array(np.array(PERSONA_NAMES, dtype=object)[cu.lat.persona]),
        pa.array(t["default_prob"]),
        pa.array(t["default_prob_observable"]),
        pa.array(t["age_bucket"], pa.int32()),
        pa.array(t["income"]),
    ], schema=TRUTH.arrow)
    signed = cu.signup_day < _days(ms) + dim
    took = signed & (rng.random(n) < cu.lat.took_credit_p)
    overdue = (rng.random(n) < t["default_prob"]).astype(np.int32)
    age_rep = signed & cu.lat.kyc & (rng.random(n) < AGE_REPORT_P)
    inc_rep = signed & (rng.random(n) < INCOME_REPORT_P)
    verified = rng.random(n) < INCOME_VERIFIED_P
    declared = np.round(t["income"] * rng.lognormal(0.1, 0.3, n) / 500.0) * 500.0  # people round and inflate
    income_obs = np.where(verified, np.round(t["income"] * rng.normal(1.0, 0.02, n), 2), declared)
    rows = np.flatnonzero(took | age_rep | inc_rep)
    outcomes = pa.Table.from_arrays([
        cu.user_id.take(pa.array(rows)),
        pa.array(overdue[rows], pa.int32(), mask=~took[rows]),
        pa.array(t["age"][rows], pa.int32(), mask=~age_rep[rows]),
        pa.array(income_obs[rows], pa.float64(), mask=~inc_rep[rows]),
        pa.array(np.where(verified[rows], INCOME_SOURCES[1], INCOME_SOURCES[0]).astype(object), pa.string(),
                 mask=~inc_rep[rows]),
    ], schema=OUTCOMES.arrow)
    return truth, outcomes


# --- orchestration -------------------------------------------------------------


def table_dir(out: Path, spec: TableSpec) -> Path:
    return out / spec.schema / spec.table


def part_path(out: Path, spec: TableSpec, chunk_idx: int, dt: date | None) -> Path:
    d = table_dir(out, spec)
    if spec.partitioned:
        assert dt is not None
        d = d / f"dt={dt.isoformat()}"
    return d / f"part-{chunk_idx:05d}.parquet"


def _write(table: pa.Table, out: Path, spec: TableSpec, chunk_idx: int, dt: date | None) -> int:
    p = part_path(out, spec, chunk_idx, dt)
    p.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, p, compression="snappy", row_group_size=1 << 20)
    return table.num_rows


@dataclass(frozen=True)
class RunConfig:
    """CLI parameters of one generation run."""

    users: int = 20_000
    months: int = 6
    seed: int = 42
    start_month: date = date(2026, 1, 1)
    out: Path = Path(".warehouse/landing")
    chunk_users: int = 50_000
    workers: int = 1


_WORLD: World | None = None
_WORLD_SEED: int | None = None


def _world(seed: int) -> World:
    global _WORLD, _WORLD_SEED
    if _WORLD is None or seed != _WORLD_SEED:
        _WORLD, _WORLD_SEED = build_world(seed), seed
    return _WORLD


def generate_chunk(cfg: RunConfig, chunk_idx: int, on_month: Callable[[], object] | None = None) -> dict[str, int]:
    """Generate and write every table of one user chunk; returns rows per table."""
    world = _world(cfg.seed)
    lo = chunk_idx * cfg.chunk_users
    n = min(cfg.chunk_users, cfg.users - lo)
    rows = {t.key: 0 for t in TABLES}
    cu, users = make_users(world, np.random.default_rng([cfg.seed, chunk_idx, 0]), lo, n, cfg.start_month, cfg.months)
    rows[USERS.key] += _write(users, cfg.out, USERS, chunk_idx, None)
    for m in range(cfg.months):
        rng = np.random.default_rng([cfg.seed, chunk_idx, 1 + m])
        ms = month_start(cfg.start_month, m)
        dim = (month_start(cfg.start_month, m + 1) - ms).days
        truth, outcomes = make_labels(rng, cu, ms, dim, m)
        n_r, n_d = _monthly_counts(rng, cu, ms, dim)
        rides = make_rides(world, rng, cu, n_r, ms, dim, chunk_idx)
        deliveries = make_deliveries(world, rng, cu, n_d, ms, dim, chunk_idx, m)
        for spec, tbl in ((TRUTH, truth), (OUTCOMES, outcomes), (RIDE_ORDERS, rides), (DELIVERY_ORDERS, deliveries)):
            rows[spec.key] += _write(tbl, cfg.out, spec, chunk_idx, ms)
        if on_month is not None:
            on_month()
    return rows


def prepare_output(out: Path) -> None:
    """Remove previous files of every table this generator owns (and only those)."""
    for spec in TABLES:
        d = table_dir(out, spec)
        if d.exists():
            shutil.rmtree(d)


def generate(cfg: RunConfig, progress: bool = True) -> dict[str, object]:
    """Run the whole generation; returns a summary (rows per table, timing)."""
    if cfg.users < 1 or cfg.months < 1 or cfg.chunk_users < 1:
        raise ValueError("users, months and chunk_users must be >= 1")
    t0 = time.perf_counter()
    prepare_output(cfg.out)
    n_chunks = -(-cfg.users // cfg.chunk_users)
    totals = {t.key: 0 for t in TABLES}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_chunks * cfg.months, unit="chunk-month",
                   desc=f"synth {cfg.users:,} users x {cfg.months} months")
    workers = max(1, min(cfg.workers, n_chunks))
    if workers == 1:
        for ci in range(n_chunks):
            for k, v in generate_chunk(cfg, ci, bar.update if bar is not None else None).items():
                totals[k] += v
    else:
        _world(cfg.seed)  # build once; forked workers inherit it
        with ProcessPoolExecutor(max_workers=workers) as ex:
            for res in ex.map(generate_chunk, [cfg] * n_chunks, range(n_chunks)):
                for k, v in res.items():
                    totals[k] += v
                if bar is not None:
                    bar.update(cfg.months)
    if bar is not None:
        bar.close()
    elapsed = time.perf_counter() - t0
    total_rows = sum(totals.values())
    return {
        "rows": totals, "total_rows": total_rows, "elapsed_s": elapsed,
        "rows_per_s": total_rows / elapsed if elapsed > 0 else float("nan"),
        "out": str(cfg.out), "chunks": n_chunks, "workers": workers,
        "months": [month_start(cfg.start_month, m).isoformat() for m in range(cfg.months)],
        "drift_dt": dirt.drift_dt(cfg.start_month) if cfg.months > int(dirt.DRIFT["month_index"]) else None,  # type: ignore[arg-type]
        "pid": os.getpid(),
    }


__all__ = ["RunConfig", "generate", "generate_chunk", "build_world", "month_start", "part_path", "table_dir"]

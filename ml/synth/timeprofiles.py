"""Hour-of-day profiles of trips and deliveries.

Trips *to* a category and trips *from* it (back home) have their own
profiles (office at 8-9 h and home at 18-19 h, bars at 21 h and home at 2 h).
Health workers at hospitals follow shift changes (7, 14, 21 h), which puts
some honest, low-risk users into the night -- so night share is a useful but
imperfect risk signal.  Users with a high ``night_w`` move flexible trips and
orders into the NIGHT profile.
"""

from __future__ import annotations

import numpy as np

from .places import CATEGORIES
from .products import STORE_TYPES

Peak = tuple[float, float, float]  # (hour, width in hours, weight)


def profile(peaks: list[Peak], floor: float = 0.01) -> np.ndarray:
    """24-bin probability vector from circular Gaussian bumps plus a floor."""
    h = np.arange(24) + 0.5
    p = np.full(24, floor)
    for mu, sd, w in peaks:
        d = np.abs(h - mu)
        d = np.minimum(d, 24 - d)
        p += w * np.exp(-0.5 * (d / sd) ** 2)
    return p / p.sum()


_DEFAULT_TO: list[Peak] = [(11, 3, 1), (17, 3, 1)]
_DEFAULT_FROM: list[Peak] = [(14, 3, 1), (20, 2.5, 1)]
CATEGORY_HOURS: dict[str, tuple[list[Peak], list[Peak]]] = {
    "airport": ([(5.5, 1.5, 1), (12, 3, 0.8), (18, 2, 0.8)], [(9, 3, 1), (16, 3, 1), (22, 2, 0.7)]),
    "hospital": ([(8, 1.5, 1), (12, 2, 0.7), (17, 2, 0.4)], [(13, 2, 1), (19, 2, 0.6)]),
    "clinic": ([(9, 1.5, 1), (16, 2, 0.6)], [(12, 2, 1), (18, 2, 0.6)]),
    "university": ([(7.5, 1, 1), (11, 2, 0.5), (15, 1.5, 0.3)], [(14, 2, 1), (19, 2, 0.8), (21.5, 1, 0.3)]),
    "primary_school": ([(7.3, 0.5, 1), (13.5, 0.6, 0.9)], [(8.0, 0.5, 1), (14.2, 0.6, 0.9)]),
    "residential": ([(13, 3, 1), (19, 3, 1)], [(16, 3, 1), (22, 2, 0.8)]),
    "office_tower": ([(8.3, 0.9, 1), (14, 1, 0.2)], [(18.5, 1.2, 1), (15, 1, 0.2)]),
    "mall": ([(12, 2.5, 1), (17, 2.5, 1)], [(15, 2.5, 1), (20.5, 1.5, 1)]),
    "bar": ([(21, 1.5, 1), (15, 1.5, 0.3)], [(1.5, 1.5, 1), (18, 1.5, 0.3)]),
    "nightclub": ([(23, 1, 1)], [(3.5, 1, 1)]),
    "pawn_shop": ([(11, 2, 1), (16, 2, 0.8)], [(13, 2, 1), (18, 1.5, 0.8)]),
    "casino": ([(15, 3, 0.6), (21, 2, 1)], [(19, 3, 0.6), (1, 2, 1)]),
    "payday_lender": ([(10.5, 1.5, 1), (15, 2, 0.7)], [(12.5, 1.5, 1), (17, 2, 0.7)]),
    "church": ([(8, 1, 0.6), (11.5, 1, 1), (19, 1, 0.6)], [(13, 1, 1), (20.5, 1, 0.6)]),
    "gym": ([(6.5, 1, 1), (19, 1.2, 1)], [(8.3, 1, 1), (20.8, 1, 1)]),
    "market": ([(6.5, 1.2, 1), (10, 2, 0.8)], [(15, 2, 1), (12, 2, 0.6)]),
    "pharmacy": ([(11, 3, 1), (19, 2, 0.8)], [(12, 3, 1), (20, 2, 0.8)]),
    "supermarket": ([(11, 3, 1), (18, 2, 1)], [(13, 3, 1), (20, 2, 1)]),
    "hotel": ([(15, 3, 1), (22, 2, 0.6)], [(8, 2, 1), (12, 2, 0.6)]),
    "restaurant": ([(14, 1.3, 1), (20.5, 1.5, 1)], [(16, 1.3, 1), (22.5, 1.5, 1)]),
    "bus_terminal": ([(6, 2, 1), (20, 2, 0.8)], [(9, 3, 1), (22, 2, 0.8)]),
    "park": ([(9, 2, 1), (17, 2, 0.8)], [(11, 2, 1), (19, 2, 0.8)]),
    "cinema": ([(17, 2, 1), (20.5, 1.5, 1)], [(20, 2, 1), (23.5, 1, 1)]),
}
HEALTH_SHIFT_TO: list[Peak] = [(6.5, 0.6, 1), (13.5, 0.6, 0.8), (20.5, 0.6, 0.8)]
HEALTH_SHIFT_FROM: list[Peak] = [(14.5, 0.6, 1), (21.5, 0.6, 0.8), (7.5, 0.6, 0.8)]
NIGHT: list[Peak] = [(23, 1.2, 1), (1.5, 1.3, 1), (3.5, 1, 0.4)]

#: Categories whose trips a night owl may move into the NIGHT profile.
FLEXIBLE_CATEGORIES: tuple[str, ...] = ("residential", "mall", "bar", "nightclub", "casino", "restaurant",
                                        "cinema", "hotel")

STORE_HOURS: dict[str, list[Peak]] = {
    "taqueria": [(14.5, 1.2, 0.8), (21, 1.5, 1)], "pizzeria": [(15, 1.2, 0.5), (20.5, 1.3, 1)],
    "hamburguesas": [(15, 1.5, 0.6), (21, 1.5, 1)], "sushi_premium": [(14.5, 1, 1), (20.5, 1.2, 1)],
    "comida_corrida": [(14, 1, 1)], "cafeteria": [(8.5, 1.2, 1), (17, 1.5, 0.5)],
    "supermercado": [(11, 2.5, 1), (18, 2, 0.8)], "supermercado_premium": [(11, 2.5, 1), (18, 2, 0.8)],
    "farmacia": [(11, 3, 1), (20, 2, 0.7)], "conveniencia": [(13, 4, 0.7), (21, 2, 1)],
    "licoreria": [(19, 1.5, 0.8), (22.5, 1.5, 1)], "papeleria": [(10, 2, 1), (17, 2, 1)],
    "mascotas": [(12, 3, 1)], "bebes": [(11, 3, 1), (19, 2, 0.6)], "saludable": [(13.8, 1, 1), (19.5, 1.5, 0.6)],
}
#: Store types whose orders a night owl may move into the NIGHT profile.
FLEXIBLE_STORES: tuple[str, ...] = ("taqueria", "pizzeria", "hamburguesas", "conveniencia", "licoreria", "farmacia")


def _keyed(profiles: list[np.ndarray]) -> np.ndarray:
    """Concatenated shifted CDFs: hour = searchsorted(cdf, key + u) - 24 * key."""
    out = []
    for k, p in enumerate(profiles):
        c = np.cumsum(p)
        c[-1] = 1.0
        out.append(k + c)
    return np.concatenate(out)


# Ride hour keys: 2 * category + direction (0 = going to, 1 = coming back), then
# HEALTH_TO, HEALTH_FROM, NIGHT.
RIDE_KEY_HEALTH_TO = 2 * len(CATEGORIES)
RIDE_KEY_HEALTH_FROM = RIDE_KEY_HEALTH_TO + 1
RIDE_KEY_NIGHT = RIDE_KEY_HEALTH_TO + 2
RIDE_HOUR_CDF: np.ndarray = _keyed(
    [profile(CATEGORY_HOURS.get(c, (_DEFAULT_TO, _DEFAULT_FROM))[d]) for c in CATEGORIES for d in (0, 1)]
    + [profile(HEALTH_SHIFT_TO), profile(HEALTH_SHIFT_FROM), profile(NIGHT)]
)
# Delivery hour keys: store type, then NIGHT.
STORE_KEY_NIGHT = len(STORE_TYPES)
STORE_HOUR_CDF: np.ndarray = _keyed([profile(STORE_HOURS[s]) for s in STORE_TYPES] + [profile(NIGHT)])

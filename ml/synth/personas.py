"""Latent personas and the label model.

Everything that ties *who a user is* (age, income, default risk) to *what the
user does* (places, hours, baskets, payment) lives here, so the generating
process can be read in one place.  The label boundaries used downstream
(age buckets) are defined here too and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# --- label definitions ------------------------------------------------------

#: Age-bucket edges: bucket = number of edges <= age, i.e.
#: 0: <25, 1: 25-34, 2: 35-49, 3: 50+.
AGE_BUCKET_EDGES: tuple[int, ...] = (25, 35, 50)
AGE_BUCKET_LABELS: tuple[str, ...] = ("<25", "25-34", "35-49", "50+")

#: Coefficients of the default-risk logit (see ``default_logit``).
#: z_text drives behaviour that is visible only through text (POI names of
#: pawn shops / casinos / payday lenders, "stress" SKU titles); z_stat drives
#: behaviour visible through numbers (cash share, cancellations, late-night
#: activity, spend volatility); z_hidden is never observable.
RISK_COEF_TEXT = 0.80
RISK_COEF_STAT = 0.80
RISK_COEF_HIDDEN = 0.55
#: Lower income than the persona median raises risk: -coef * log(income / median).
RISK_COEF_INCOME = 0.35
#: Month-to-month jitter of the default logit (so risk is not frozen).
RISK_MONTH_SIGMA = 0.10


def age_bucket(age: np.ndarray) -> np.ndarray:
    """Map ages (years) to bucket ids 0..3 using AGE_BUCKET_EDGES."""
    return np.searchsorted(np.asarray(AGE_BUCKET_EDGES), age, side="right").astype(np.int32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float | np.ndarray) -> float | np.ndarray:
    return np.log(p) - np.log1p(-p)


# --- personas -----------------------------------------------------------------


@dataclass(frozen=True)
class Persona:
    """One latent user type.

    Weights are relative; categories/store types that are not listed get the
    population default (``DEFAULT_POI_WEIGHTS`` / ``DEFAULT_STORE_WEIGHTS``).
    """

    name: str
    share: float
    age_mean: float
    age_sd: float
    age_min: float
    age_max: float
    income_median: float  # true monthly income, MXN
    income_sigma: float  # between-user log-sd
    income_month_sigma: float  # month-to-month log-sd (gig/informal work is volatile)
    base_default: float  # default probability of a median member (z = 0)
    rides_per_month: float
    deliveries_per_month: float
    cash_share: float  # typical share of orders paid in cash
    night_propensity: float  # typical share of flexible trips moved to 22h-4h
    spend_volatility: float  # extra month-to-month activity log-sd
    basket_items: float  # mean extra items per delivery (1 + Poisson)
    poi_weights: dict[str, float] = field(default_factory=dict)
    store_weights: dict[str, float] = field(default_factory=dict)
    sku_tags: dict[str, float] = field(default_factory=dict)
    work_category: str | None = None  # the category of the usual workplace


#: Population-wide destination weights (ride-hailing), overridden per persona.
DEFAULT_POI_WEIGHTS: dict[str, float] = {
    "airport": 0.03, "hospital": 0.10, "clinic": 0.20, "university": 0.05,
    "primary_school": 0.05, "residential": 1.00, "office_tower": 0.20, "mall": 0.80,
    "bar": 0.30, "nightclub": 0.10, "pawn_shop": 0.12, "casino": 0.06,
    "payday_lender": 0.07, "church": 0.15, "gym": 0.20, "market": 0.30,
    "pharmacy": 0.30, "supermarket": 0.60, "hotel": 0.05, "restaurant": 0.80,
    "bus_terminal": 0.05, "park": 0.30, "cinema": 0.30,
}

#: Population-wide delivery store-type weights, overridden per persona.
DEFAULT_STORE_WEIGHTS: dict[str, float] = {
    "taqueria": 1.0, "pizzeria": 0.6, "hamburguesas": 0.6, "sushi_premium": 0.1,
    "comida_corrida": 0.6, "cafeteria": 0.4, "supermercado": 0.6,
    "supermercado_premium": 0.1, "farmacia": 0.3, "conveniencia": 0.5,
    "licoreria": 0.2, "papeleria": 0.05, "mascotas": 0.1, "bebes": 0.02,
    "saludable": 0.2,
}

PERSONAS: tuple[Persona, ...] = (
    Persona(
        "student", 0.14, 21, 2.2, 17, 29, 5_500, 0.50, 0.15, 0.13, 8, 6, 0.35, 0.25, 0.25, 0.6,
        poi_weights={"university": 4.0, "bar": 0.8, "nightclub": 0.5, "gym": 0.5, "cinema": 0.6,
                     "mall": 1.0, "restaurant": 1.0, "residential": 1.5, "office_tower": 0.1},
        store_weights={"hamburguesas": 1.2, "pizzeria": 1.2, "conveniencia": 1.0, "papeleria": 0.4,
                       "cafeteria": 0.6, "licoreria": 0.3, "supermercado": 0.3},
        sku_tags={"student": 4.0, "budget": 2.0, "party": 1.5, "premium": 0.3, "elder": 0.05,
                  "parent": 0.05},
        work_category="university",
    ),
    Persona(
        "office_worker", 0.18, 33, 6, 22, 62, 21_000, 0.40, 0.06, 0.06, 11, 7, 0.15, 0.08, 0.10, 0.8,
        poi_weights={"office_tower": 4.5, "restaurant": 1.0, "gym": 0.6, "mall": 0.8, "bar": 0.5,
                     "airport": 0.08},
        store_weights={"comida_corrida": 1.5, "cafeteria": 1.0, "saludable": 0.8, "sushi_premium": 0.2},
        sku_tags={"office": 3.0, "fitness": 1.5, "elder": 0.2, "parent": 0.3},
        work_category="office_tower",
    ),
    Persona(
        "health_worker", 0.08, 37, 9, 23, 65, 24_000, 0.50, 0.06, 0.05, 9, 6, 0.15, 0.10, 0.10, 0.8,
        poi_weights={"hospital": 4.5, "clinic": 0.8, "pharmacy": 0.6, "supermarket": 0.6, "bar": 0.2},
        store_weights={"comida_corrida": 1.0, "cafeteria": 1.2, "farmacia": 0.5, "saludable": 0.6},
        sku_tags={"health": 2.5, "office": 1.0, "elder": 0.3, "parent": 0.6},
        work_category="hospital",
    ),
    Persona(
        "parent", 0.15, 37, 6, 24, 56, 17_000, 0.45, 0.08, 0.08, 10, 8, 0.25, 0.05, 0.15, 1.6,
        poi_weights={"primary_school": 3.5, "supermarket": 1.2, "market": 0.8, "mall": 1.0,
                     "park": 0.8, "clinic": 0.5, "church": 0.4, "pharmacy": 0.5,
                     "office_tower": 1.0, "bar": 0.1, "nightclub": 0.02},
        store_weights={"supermercado": 2.0, "bebes": 1.5, "farmacia": 0.8, "papeleria": 0.8,
                       "pizzeria": 0.8, "licoreria": 0.1},
        sku_tags={"parent": 6.0, "family": 3.0, "party": 0.3, "student": 0.2},
        work_category="primary_school",
    ),
    Persona(
        "retiree", 0.07, 68, 6, 58, 90, 9_000, 0.50, 0.04, 0.06, 5, 4, 0.45, 0.02, 0.10, 0.8,
        poi_weights={"church": 1.5, "hospital": 1.0, "clinic": 1.5, "pharmacy": 1.2, "market": 1.2,
                     "park": 0.6, "residential": 1.5, "bar": 0.05, "nightclub": 0.0, "gym": 0.05,
                     "office_tower": 0.02, "university": 0.0, "primary_school": 0.05},
        store_weights={"farmacia": 2.5, "supermercado": 1.2, "comida_corrida": 0.8, "hamburguesas": 0.1,
                       "licoreria": 0.05},
        sku_tags={"elder": 8.0, "health": 2.0, "student": 0.05, "party": 0.1, "parent": 0.1},
        work_category="church",
    ),
    Persona(
        "nightlife", 0.09, 27, 5, 18, 45, 15_000, 0.50, 0.12, 0.17, 12, 8, 0.35, 0.35, 0.30, 1.0,
        poi_weights={"bar": 3.0, "nightclub": 2.0, "casino": 0.20, "restaurant": 1.2,
                     "residential": 1.5, "office_tower": 1.0, "gym": 0.3},
        store_weights={"licoreria": 2.0, "hamburguesas": 1.2, "pizzeria": 1.0, "conveniencia": 1.2},
        sku_tags={"alcohol": 5.0, "party": 4.0, "elder": 0.05, "parent": 0.1},
        work_category="office_tower",
    ),
    Persona(
        "gig_worker", 0.12, 29, 7, 18, 55, 11_000, 0.40, 0.30, 0.14, 9, 5, 0.55, 0.15, 0.35, 0.7,
        poi_weights={"residential": 2.0, "market": 1.0, "restaurant": 1.0, "pawn_shop": 0.20,
                     "payday_lender": 0.15, "bus_terminal": 0.3, "mall": 1.0},
        store_weights={"taqueria": 1.5, "comida_corrida": 1.0, "conveniencia": 1.0},
        sku_tags={"budget": 3.0, "premium": 0.2},
        work_category="residential",
    ),
    Persona(
        "executive", 0.05, 46, 8, 30, 72, 75_000, 0.45, 0.06, 0.03, 14, 9, 0.05, 0.08, 0.10, 1.2,
        poi_weights={"office_tower": 4.0, "airport": 1.2, "hotel": 0.8, "restaurant": 1.5, "gym": 0.6,
                     "mall": 0.6, "market": 0.05, "pawn_shop": 0.02, "payday_lender": 0.01, "bus_terminal": 0.0},
        store_weights={"sushi_premium": 2.5, "supermercado_premium": 2.0, "saludable": 1.0,
                       "licoreria": 0.4, "cafeteria": 1.0, "comida_corrida": 0.1},
        sku_tags={"premium": 6.0, "office": 1.5, "budget": 0.1},
        work_category="office_tower",
    ),
    Persona(
        "informal_merchant", 0.12, 44, 10, 22, 75, 12_000, 0.55, 0.30, 0.15, 8, 5, 0.75, 0.08, 0.35, 1.0,
        poi_weights={"market": 4.0, "supermarket": 1.0, "pawn_shop": 0.20, "payday_lender": 0.15,
                     "bus_terminal": 0.3, "church": 0.4, "casino": 0.08, "office_tower": 0.05},
        store_weights={"taqueria": 1.5, "comida_corrida": 1.5, "supermercado": 1.0},
        sku_tags={"budget": 2.0, "family": 1.5, "premium": 0.2},
        work_category="market",
    ),
)
PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)
PERSONA_SHARES: np.ndarray = np.array([p.share for p in PERSONAS]) / sum(p.share for p in PERSONAS)

#: Per-user weights of these destination categories are multiplied by
#: exp(RISKY_PLACE_COEF * z_text - RISKY_PLACE_SHIFT); every such POI shares a
#: geohash-7 cell with a benign twin, so only its *name* reveals it.
RISKY_CATEGORIES: tuple[str, ...] = ("pawn_shop", "casino", "payday_lender")
RISKY_PLACE_COEF = 1.3
RISKY_PLACE_SHIFT = 0.4


@dataclass
class UserLatents:
    """Per-user hidden state for one chunk of users (all arrays length n)."""

    persona: np.ndarray  # int index into PERSONAS
    z_text: np.ndarray
    z_stat: np.ndarray
    z_hidden: np.ndarray
    age0: np.ndarray  # float age at the start month
    income: np.ndarray  # baseline true monthly income (MXN)
    risk_logit: np.ndarray  # default logit before month jitter
    cash_share: np.ndarray
    cancel_rate: np.ndarray
    night_w: np.ndarray
    spend_vol: np.ndarray
    ride_rate: np.ndarray
    delivery_rate: np.ndarray
    stress_sku: np.ndarray  # share of items drawn from the "stress" pool
    premium_tier: np.ndarray  # P(comfort/black ride tier) from income
    took_credit_p: np.ndarray
    kyc: np.ndarray  # bool: age is known to the lender


def _persona_array(persona: np.ndarray, attr: str) -> np.ndarray:
    return np.array([getattr(p, attr) for p in PERSONAS], dtype=np.float64)[persona]


def draw_latents(rng: np.random.Generator, n: int) -> UserLatents:
    """Draw personas, traits and labels-generating quantities for n users."""
    persona = rng.choice(len(PERSONAS), size=n, p=PERSONA_SHARES)
    z_text = rng.standard_normal(n)
    z_stat = rng.standard_normal(n)
    z_hidden = rng.standard_normal(n)

    age0 = rng.normal(_persona_array(persona, "age_mean"), _persona_array(persona, "age_sd"))
    age0 = np.clip(age0, _persona_array(persona, "age_min"), _persona_array(persona, "age_max"))
    age0 = age0 + rng.uniform(0, 1, n)  # fractional part -> birthdays spread over the year

    med = _persona_array(persona, "income_median")
    income = med * np.exp(rng.normal(0.0, _persona_array(persona, "income_sigma")))
    income = np.round(income, 2)

    risk_logit = (
        _logit(_persona_array(persona, "base_default"))
        + RISK_COEF_TEXT * z_text
        + RISK_COEF_STAT * z_stat
        + RISK_COEF_HIDDEN * z_hidden
        - RISK_COEF_INCOME * np.log(income / med)
    )

    noise = lambda s: rng.normal(0.0, s, n)  # noqa: E731 - tiny local helper
    cash_share = _sigmoid(_logit(_persona_array(persona, "cash_share")) + 0.9 * z_stat + noise(0.4))
    cancel_rate = _sigmoid(_logit(0.05) + 0.7 * z_stat + noise(0.3))
    night_w = _sigmoid(_logit(_persona_array(persona, "night_propensity")) + 0.8 * z_stat + noise(0.4))
    spend_vol = 0.10 + _persona_array(persona, "spend_volatility") * (0.5 + _sigmoid(1.2 * z_stat + noise(0.3)))
    heterogeneity = rng.gamma(3.0, 1 / 3.0, n)  # some users simply use the apps more
    ride_rate = _persona_array(persona, "rides_per_month") * heterogeneity * rng.gamma(8.0, 1 / 8.0, n)
    delivery_rate = _persona_array(persona, "deliveries_per_month") * heterogeneity * rng.gamma(8.0, 1 / 8.0, n)
    stress_sku = _sigmoid(-1.8 + 1.2 * z_text + noise(0.3))
    premium_tier = _sigmoid(2.0 * (np.log(income) - np.log(35_000)))
    took_credit_p = _sigmoid(_logit(0.35) + 0.35 * z_text + 0.25 * z_stat + noise(0.5))
    kyc = rng.random(n) < 0.75
    return UserLatents(
        persona, z_text, z_stat, z_hidden, age0, income, risk_logit, cash_share, cancel_rate,
        night_w, spend_vol, ride_rate, delivery_rate, stress_sku, premium_tier, took_credit_p, kyc,
    )


def month_truth(rng: np.random.Generator, lat: UserLatents, month_idx: int) -> dict[str, np.ndarray]:
    """True age, income and default probability of every user in one month."""
    n = lat.persona.shape[0]
    age = np.floor(lat.age0 + month_idx / 12.0).astype(np.int32)
    sig = _persona_array(lat.persona, "income_month_sigma")
    income = np.round(lat.income * np.exp(rng.normal(0.0, 1.0, n) * sig - sig**2 / 2), 2)
    default_prob = _sigmoid(lat.risk_logit + rng.normal(0.0, RISK_MONTH_SIGMA, n))
    return {
        "age": age,
        "age_bucket": age_bucket(age),
        "income": income,
        "default_prob": default_prob,
        "default_prob_observable": observable_default_prob(lat),
    }


def observable_default_prob(lat: UserLatents) -> np.ndarray:
    """The default probability with what no data can show integrated out.

    z_hidden ~ N(0, 1) and the month jitter ~ N(0, RISK_MONTH_SIGMA) are never observable, so
    the best any model can do is E[sigmoid(logit_observable + e)] with e ~ N(0, s^2),
    s^2 = RISK_COEF_HIDDEN^2 + RISK_MONTH_SIGMA^2 (Gauss-Hermite quadrature, no random draw).
    """
    logit_observable = lat.risk_logit - RISK_COEF_HIDDEN * lat.z_hidden
    scale = np.sqrt(RISK_COEF_HIDDEN**2 + RISK_MONTH_SIGMA**2)
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)  # E[f(Z)], Z ~ N(0, 1)
    values = _sigmoid(logit_observable[:, None] + scale * nodes[None, :])
    return values @ (weights / weights.sum())

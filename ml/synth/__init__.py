"""Deterministic synthetic landing data: ride-hailing + food delivery in Mexican cities.

Run ``python -m ml.synth --help``.  Output (every table directory is wiped first)::

    <out>/raw/users/part-NNNNN.parquet
    <out>/raw/ride_orders/dt=YYYY-MM-01/part-NNNNN.parquet
    <out>/raw/delivery_orders/dt=YYYY-MM-01/part-NNNNN.parquet
    <out>/raw/outcomes/dt=YYYY-MM-01/part-NNNNN.parquet
    <out>/raw_oracle/truth/dt=YYYY-MM-01/part-NNNNN.parquet

One file per user chunk (and month); ``dt`` lives only in the directory name.
Exact columns and Arrow types: ``ml.synth.schema``.

Generating process
==================

Personas (``personas.PERSONAS``).  Every user belongs to one hidden persona:
student, office_worker, health_worker (nurse/doctor), parent (school runs),
retiree, nightlife, gig_worker, executive (flies often), informal_merchant.
A persona sets the age distribution (truncated normal), the income
distribution (log-normal around a median, with month-to-month volatility that
is high for gig workers and informal merchants), a base default probability,
ride/delivery frequency, cash share, night propensity, spend volatility,
basket size, preferred POI categories (with a usual workplace: office tower,
hospital, university, primary school, market, ...), preferred delivery store
types and SKU tags (parent, elder, premium, budget, alcohol, party, ...).

Individual traits.  Each user also draws three independent N(0, 1) traits:

* ``z_text`` -- financial stress that shows only in *text*: more trips to pawn
  shops (casa de empeño), casinos and payday lenders (weight x
  exp(1.3 z - 0.4)), more SKUs from a "stress" pool (sopa instantánea,
  recarga de $20, cigarros sueltos, caguama, recarga de apuestas), slightly more
  convenience/liquor-store orders.
* ``z_stat`` -- disorder that shows in *numbers*: cash share, cancellation
  rate, share of flexible trips/orders moved to 22h-4h, month-to-month
  activity volatility, slight pull towards the "loan_partner_ad" referral.
* ``z_hidden`` -- never observable.

Labels.  Per user, ``logit(p) = logit(persona.base_default) + 0.80 z_text +
0.80 z_stat + 0.55 z_hidden - 0.35 log(income / persona median)``; each month
adds N(0, 0.10) jitter -> ``raw_oracle.truth.default_prob``;
``default_prob_observable`` integrates z_hidden and the jitter out (the ceiling
any model of the data can reach).  Age at month m
is ``floor(age0 + m / 12)``; ``age_bucket`` uses ``personas.AGE_BUCKET_EDGES``
= (25, 35, 50) -> 0: <25, 1: 25-34, 2: 35-49, 3: 50+.  True monthly income
``income_mxn`` = baseline x log-normal monthly shock.
``raw.outcomes`` (one row per user-month at most, only after signup):

* ``overdue_flag`` ~ Bernoulli(default_prob), only for users who took credit
  that month (P = sigmoid(logit 0.35 + 0.35 z_text + 0.25 z_stat + noise):
  stressed users borrow more -- a selection effect).
* ``age`` (exact) for the ~75 % of users who passed KYC, reported in ~35 % of
  their months.
* ``monthly_income`` in ~25 % of months: 40 % ``verified`` (true x N(1, 0.02)),
  else ``declared`` (true x lognormal(0.1, 0.3), rounded to 500 -- people
  inflate and round).

Behaviour.  City by population weight; home = a residential colonia chosen by
income quantile (colonias have a hidden socio-economic level; "Residencial"/
"Lomas" names skew rich, "Unidad Habitacional"/"Ampliación" poor).  Monthly
counts are Poisson(rate x activity shock) with 8 % inactive months and 4 %
dormant users who never order.  A trip is home->POI, POI->home or POI->POI;
the destination category comes from persona x individual-taste (gamma) x risk
weights; 60 % of trips go to the user's favourite POI of the category (95 % for
the workplace).  Hours come from category profiles (``timeprofiles``), shift
changes for health workers at hospitals, and the NIGHT profile for night owls.
Fare = (base + 6.5/km + 1.9/min) x tier (comfort/black for high incomes) x
surge; cancelled trips cost 0 or 35, no-shows 45.  Deliveries pick a store
type and store, 1 + Poisson(basket) SKUs drawn by persona x income tier x age
(>= 55 buys "elder" SKUs 3x more) or from the stress pool; amount = items x
qty + fee + tip.

Where the signal is
===================

* Text only: pawn shops, casinos and payday lenders always share a geohash-7
  cell (~150 m) with a benign twin (pharmacy, supermarket, market, mall,
  cinema, office tower), and half the hospitals share one with a mall -- the
  coordinates, addresses' street and geohash cannot tell them apart, the POI
  name can.  Stress SKU titles (z_text) are text-only too (they do make the
  basket a little cheaper).  SKU titles also reveal life stage (pañales,
  fórmula infantil, útiles escolares -> parent; losartán, tiras de glucosa ->
  older) and income (vino importado, sushi omakase vs. sopa instantánea).
* Numbers / geohash: counts, fares and amounts (income, tiers), cash share,
  cancellations, night share and volatility (z_stat), hours and
  home/work cells (persona, income via colonia level).
* Measured on 5000 users x 6 months (seed 1, within-persona, held-out
  users): a ridge on word TF-IDF recovers z_text with r = 0.73 and z_stat
  with r = -0.05; one on numeric aggregates recovers z_stat with r = 0.77 and
  z_text with r = 0.15 (cheaper stress baskets leak a little).
* ``tests/python/test_synth_signal.py`` checks that a TF-IDF-only model and a
  numeric-only model both beat AUC 0.55 on overdue_flag and that the combined
  model beats both by a margin; the oracle AUC is printed as the ceiling
  (typically text ~0.66, stats ~0.69, combined ~0.72, oracle ~0.81).

Dirt (rates in ``ml.synth.dirt``)
=================================

Null text/coordinates/amounts/payment (``NULL_RATES``); duplicate order_ids,
exact (``DUPLICATE_EXACT_RATE``) or an ``in_progress`` row followed by the
final status (``DUPLICATE_STATUS_RATE``; keep the non-in_progress row);
abbreviation/accent/case/typo/suffix spellings of POI, store and SKU names
(``NAME_VARIANT_RATE``, e.g. "Aeropuerto Internacional Benito Juárez" vs
"AEROPUERTO INTL BENITO JUAREZ T1", "Hospital General" vs "Hosp. Gral.");
emoji (``EMOJI_RATE``); strings over 500 chars in delivery_address and
item_titles (``OVERLONG_RATE``); coordinates at 999/999, 0/0 or with lat/lon
swapped (``BAD_COORD_RATE``); clock skew of 1-6 h breaking the
order_id-vs-time order (``TS_SKEW_RATE``); order_ts 32-40 days outside its dt
month (``TS_OUT_OF_MONTH_RATE``); null order_ts (``TS_NULL_RATE``); dormant
users without orders (``USERS_WITHOUT_ORDERS_RATE``); spelling variants of
city, device_os, payment_method and email_domain
(``CATEGORICAL_VARIANT_RATE``); a few nulls in users' text columns.
Order ids are ``R``/``D`` + yymm + chunk(5) + a per-chunk-month sequence in
time order.  Hours are drawn on the city's wall clock and order_ts is written
as naive UTC with whole seconds (``places.CITY_TIMEZONES``, DST-aware), as a
platform stores it; ``dt`` is the month on the city's clock.

Drift: ``ml.synth.DRIFT`` -- in the 5th month every delivery ``amount_mxn``
is x0.60 (a promo).  Nothing else drifts: rates, prices and behaviour are
stationary across months.

Determinism: catalogues come from the seed alone; chunk c, month m draws from
``numpy.random.default_rng([seed, c, 1 + m])`` (users from ``[seed, c, 0]``);
Faker es_MX is seeded.  Same (seed, users, months, start month, chunk size)
-> identical table contents, regardless of ``--workers``.
"""

from .dirt import DRIFT, drift_dt
from .personas import AGE_BUCKET_EDGES, AGE_BUCKET_LABELS, PERSONA_NAMES, age_bucket
from .schema import TABLES

__all__ = ["DRIFT", "drift_dt", "AGE_BUCKET_EDGES", "AGE_BUCKET_LABELS", "PERSONA_NAMES", "TABLES", "age_bucket"]

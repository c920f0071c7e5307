"""Cities, POI categories, Spanish place vocabularies and the seeded POI catalogue.

The catalogue is built once per run from the seed (independent of the number
of users or chunking), so a POI keeps its name, coordinates and address across
chunks and months.  Coordinates lie inside rough real bounding boxes of each
city's urban area (airports at their real coordinates, which may lie outside
the box); colonia names are partly real, partly invented, and their positions
are random inside the box -- they are not real geography.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from faker import Faker

from .dirt import N_NAME_VARIANTS, abbreviate, name_variants, strip_accents


@dataclass(frozen=True)
class City:
    """A metro area: name, bounding box of its urban area and its airport."""

    name: str
    state: str
    weight: float  # share of users
    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float
    airport: str
    airport_lat: float
    airport_lon: float
    cp_prefix: str  # first two digits of postal codes
    scale: int  # POI-count multiplier (CDMX is bigger)
    colonias: tuple[tuple[str, float], ...]  # real colonia names with rough socio-economic level 0..1
    avenues: tuple[str, ...]


CITIES: tuple[City, ...] = (
    City("Ciudad de México", "CDMX", 0.36, 19.28, 19.52, -99.24, -99.02,
         "Aeropuerto Internacional Benito Juárez", 19.4363, -99.0721, "0", 2,
         (("Polanco", .97), ("Lomas de Chapultepec", .99), ("Condesa", .90), ("Roma Norte", .85),
          ("Del Valle", .80), ("Narvarte", .70), ("Coyoacán", .75), ("Santa Fe", .88), ("San Ángel", .90),
          ("Portales", .55), ("Lindavista", .60), ("Doctores", .30), ("Morelos", .20), ("Guerrero", .25),
          ("Agrícola Oriental", .35), ("Iztapalapa Centro", .15), ("Tlatelolco", .40),
          ("Santa María la Ribera", .45), ("Escandón", .60), ("Jardines del Pedregal", .92)),
         ("Avenida Insurgentes Sur", "Paseo de la Reforma", "Calzada de Tlalpan", "Avenida Universidad",
          "Eje Central Lázaro Cárdenas", "Avenida Revolución", "Avenida Patriotismo", "Calzada Ignacio Zaragoza")),
    City("Guadalajara", "Jalisco", 0.14, 20.60, 20.74, -103.42, -103.28,
         "Aeropuerto Internacional Miguel Hidalgo y Costilla", 20.5218, -103.3112, "44", 1,
         (("Providencia", .90), ("Chapalita", .80), ("Americana", .75), ("Zapopan Centro", .50), ("Oblatos", .20),
          ("Tlaquepaque Centro", .40), ("Puerta de Hierro", .97), ("Santa Tere", .45), ("Las Águilas", .60),
          ("Miravalle", .20)),
         ("Avenida Vallarta", "Avenida López Mateos", "Avenida Chapultepec", "Calzada Independencia",
          "Avenida Patria")),
    City("Monterrey", "Nuevo León", 0.13, 25.62, 25.76, -100.40, -100.22,
         "Aeropuerto Internacional General Mariano Escobedo", 25.7785, -100.1069, "64", 1,
         (("San Pedro Garza García", .98), ("Cumbres", .75), ("Contry", .70), ("Obispado", .80),
          ("Independencia", .25), ("Mitras Centro", .50), ("Valle Oriente", .95), ("Apodaca Centro", .30),
          ("Guadalupe Centro", .35), ("Tecnológico", .60)),
         ("Avenida Constitución", "Avenida Gonzalitos", "Avenida Garza Sada", "Avenida Lázaro Cárdenas",
          "Avenida Vasconcelos")),
    City("Puebla", "Puebla", 0.08, 18.99, 19.09, -98.25, -98.15,
         "Aeropuerto Internacional Hermanos Serdán", 19.1581, -98.3714, "72", 1,
         (("Angelópolis", .90), ("La Paz", .75), ("Centro Histórico", .45), ("Huexotitla", .70),
          ("San Manuel", .55), ("Bosques de San Sebastián", .20), ("Amalucan", .30)),
         ("Boulevard Atlixcáyotl", "Avenida Juárez", "Boulevard 5 de Mayo", "Avenida Reforma")),
    City("Tijuana", "Baja California", 0.08, 32.46, 32.54, -117.08, -116.92,
         "Aeropuerto Internacional Abelardo L. Rodríguez", 32.5411, -116.9700, "22", 1,
         (("Zona Río", .80), ("Playas de Tijuana", .65), ("Otay", .50), ("Chapultepec", .85),
          ("Zona Norte", .15), ("El Florido", .25), ("Hipódromo", .75)),
         ("Boulevard Agua Caliente", "Paseo de los Héroes", "Boulevard Díaz Ordaz", "Avenida Revolución")),
    City("León", "Guanajuato", 0.06, 21.08, 21.17, -101.73, -101.62,
         "Aeropuerto Internacional del Bajío", 20.9935, -101.4809, "37", 1,
         (("El Campestre", .90), ("Jardines del Moral", .80), ("Centro", .45), ("San Juan de Dios", .30),
          ("Las Joyas", .15), ("Valle del Campestre", .85)),
         ("Boulevard Adolfo López Mateos", "Boulevard Campestre", "Boulevard Torres Landa")),
    City("Querétaro", "Querétaro", 0.05, 20.55, 20.65, -100.45, -100.35,
         "Aeropuerto Intercontinental de Querétaro", 20.6173, -100.1857, "76", 1,
         (("Juriquilla", .92), ("El Refugio", .80), ("Centro Histórico", .55), ("Álamos", .65),
          ("Lomas de Casa Blanca", .30), ("Menchaca", .20)),
         ("Avenida Constituyentes", "Boulevard Bernardo Quintana", "Avenida 5 de Febrero")),
    City("Mérida", "Yucatán", 0.05, 20.93, 21.04, -89.67, -89.57,
         "Aeropuerto Internacional Manuel Crescencio Rejón", 20.9370, -89.6577, "97", 1,
         (("García Ginerés", .80), ("Montes de Amé", .92), ("Centro", .45), ("Itzimná", .75),
          ("San José Tecoh", .20), ("Francisco de Montejo", .55)),
         ("Paseo de Montejo", "Calle 60", "Avenida Itzáes", "Periférico")),
    City("Cancún", "Quintana Roo", 0.05, 21.12, 21.19, -86.88, -86.80,
         "Aeropuerto Internacional de Cancún", 21.0365, -86.8771, "77", 1,
         (("Zona Hotelera", .95), ("Puerto Cancún", .97), ("Supermanzana 63", .30), ("Región 94", .15),
          ("Alfredo V. Bonfil", .25), ("Centro", .50)),
         ("Avenida Tulum", "Avenida Kukulcán", "Avenida Bonampak", "Avenida Nichupté")),
)
CITY_NAMES: tuple[str, ...] = tuple(c.name for c in CITIES)
#: IANA zone of each city. Behaviour (hour-of-day profiles) is drawn on the local wall
#: clock; order_ts is written in UTC, as platforms store it. seeds/city_timezones.csv is the
#: platform-side copy the dbt models use to get back to local time.
CITY_TIMEZONES: dict[str, str] = {
    "Ciudad de México": "America/Mexico_City",
    "Guadalajara": "America/Mexico_City",
    "Monterrey": "America/Monterrey",
    "Puebla": "America/Mexico_City",
    "Tijuana": "America/Tijuana",
    "León": "America/Mexico_City",
    "Querétaro": "America/Mexico_City",
    "Mérida": "America/Merida",
    "Cancún": "America/Cancun",
}
CITY_WEIGHTS: np.ndarray = np.array([c.weight for c in CITIES]) / sum(c.weight for c in CITIES)

#: POI categories and how many POIs of each a city gets (times City.scale).
POI_COUNTS: dict[str, int] = {
    "airport": 1, "hospital": 10, "clinic": 10, "university": 6, "primary_school": 20,
    "residential": 80, "office_tower": 20, "mall": 10, "bar": 20, "nightclub": 6,
    "pawn_shop": 10, "casino": 4, "payday_lender": 6, "church": 12, "gym": 12,
    "market": 10, "pharmacy": 16, "supermarket": 12, "hotel": 8, "restaurant": 24,
    "bus_terminal": 2, "park": 8, "cinema": 5,
}
CATEGORIES: tuple[str, ...] = tuple(POI_COUNTS)
CAT_INDEX: dict[str, int] = {c: i for i, c in enumerate(CATEGORIES)}

#: Risky categories always share a geohash-7 cell (~150 m) with a benign twin;
#: half of the hospitals share one with a mall.  Near-identical coordinates,
#: different meaning: only the POI name tells them apart.
COLOCATED_TWINS: dict[str, tuple[str, ...]] = {
    "pawn_shop": ("pharmacy", "supermarket", "market"),
    "casino": ("mall", "cinema"),
    "payday_lender": ("pharmacy", "office_tower", "supermarket"),
    "hospital": ("mall",),
}
HOSPITAL_TWIN_SHARE = 0.5

_HEROES = ("Benito Juárez", "Miguel Hidalgo", "José María Morelos", "Ignacio Zaragoza", "Vicente Guerrero",
           "Lázaro Cárdenas", "Emiliano Zapata", "Francisco I. Madero", "Venustiano Carranza",
           "Josefa Ortiz de Domínguez", "Leona Vicario", "Niños Héroes", "Guadalupe Victoria",
           "Sor Juana Inés de la Cruz", "Cuauhtémoc", "Nezahualcóyotl", "Adolfo López Mateos", "Álvaro Obregón")
_SAINTS = ("San José", "Santa María", "Nuestra Señora de Guadalupe", "San Judas Tadeo", "San Francisco de Asís",
           "Santo Niño de Atocha", "San Miguel Arcángel", "Santa Cecilia", "San Antonio de Padua",
           "Sagrado Corazón", "Santa Rosa de Lima", "San Juan Bautista")
_PLACE_WORDS = ("del Valle", "del Sol", "Las Palmas", "Los Pinos", "La Loma", "El Mirador", "Las Flores",
                "del Bosque", "Real", "Las Américas", "del Norte", "del Sur", "Oriente", "Poniente",
                "La Estación", "San Isidro", "Santa Lucía", "El Rosario", "La Joya", "Esmeralda")
#: Generated colonia templates with a socio-economic offset (Residencial/Lomas
#: skew rich, Unidad Habitacional/Barrio skew poor) -- so the *text* of an
#: address carries a little income information too.
_COLONIA_TEMPLATES: tuple[tuple[str, float], ...] = (
    ("{w}", 0.0), ("Fraccionamiento {w}", 0.1), ("Residencial {w}", 0.3), ("Lomas de {w}", 0.25),
    ("Jardines de {w}", 0.1), ("Villas de {w}", 0.05), ("Unidad Habitacional {w}", -0.3),
    ("Barrio de {w}", -0.25), ("Ampliación {w}", -0.3), ("{w}", 0.0),
)

#: Name templates per category.  Fields: {hero} {saint} {place} {col} {last} {n} {city} {state}.
POI_TEMPLATES: dict[str, tuple[str, ...]] = {
    "hospital": ("Hospital General {col}", "Hospital Ángeles {col}", "Hospital Star Médica {place}",
                 "Hospital General de Zona No. {n}", "Hospital Regional {hero}", "Sanatorio {saint}",
                 "Hospital Infantil {city}", "Hospital de la Mujer {col}", "Clínica Hospital {last}",
                 "Hospital Civil {hero}"),
    "clinic": ("Unidad de Medicina Familiar No. {n}", "Centro de Salud {col}", "Consultorio Médico {last}",
               "Clínica Dental {last}", "Laboratorio Clínico {place}", "Centro Médico {place}"),
    "university": ("Universidad Autónoma de {state}", "Instituto Tecnológico de {city}",
                   "Universidad {hero}", "Facultad de Medicina {state}", "Universidad del Valle Campus {col}",
                   "Tecnológico Campus {col}", "Preparatoria No. {n}"),
    "primary_school": ("Escuela Primaria {hero}", "Colegio {saint}", "Primaria Federal {hero}",
                       "Jardín de Niños {hero}", "Instituto {place}", "Escuela Primaria {col}",
                       "Colegio Montessori {place}"),
    "office_tower": ("Torre {place}", "Corporativo {last}", "Torre {hero} {n}", "Centro de Negocios {col}",
                     "Oficinas Corporativas {last}", "Torre Ejecutiva {col}", "Edificio Corporativo {place}"),
    "mall": ("Plaza {place}", "Centro Comercial {col}", "Galerías {city}", "Plaza {hero}",
             "Town Center {col}", "Paseo {place}", "Liverpool {col}"),
    "bar": ("Cantina {last}", "Bar {place}", "La Cantina de {last}", "Mezcalería {saint}",
            "Pulquería {place}", "Cervecería {col}", "Bar El {last}"),
    "nightclub": ("Antro {place}", "Club {last}", "Disco {place}", "Salón de Baile {col}"),
    "pawn_shop": ("Casa de Empeño {col}", "Monte de Piedad {col}", "Empeña Fácil {place}",
                  "Presta Oro {last}", "Casa de Empeño {hero}", "Empeños {last}"),
    "casino": ("Casino {place}", "Casino Royal {col}", "Sala de Juegos {last}", "Casino Jackpot {city}",
               "Winner Casino {col}"),
    "payday_lender": ("Préstamos Express {col}", "Financiera {last}", "Crédito Inmediato {place}",
                      "Dinero Ya {col}", "Préstamos Personales {hero}"),
    "church": ("Parroquia de {saint}", "Templo de {saint}", "Iglesia {saint}", "Capilla de {saint}",
               "Catedral de {city}"),
    "gym": ("Gimnasio {place}", "Smart Gym {col}", "CrossFit {last}", "Sports Club {col}", "Box {last}"),
    "market": ("Mercado {hero}", "Mercado Municipal {col}", "Central de Abasto {city}", "Tianguis {place}",
               "Mercado de {saint}"),
    "pharmacy": ("Farmacia {last}", "Farmacias del Ahorro {col}", "Farmacia San Pablo {col}",
                 "Farmacia Similares {place}", "Farmacias Guadalajara {col}", "Farmacia {saint}"),
    "supermarket": ("Walmart {col}", "Soriana {place}", "Chedraui {col}", "Bodega Aurrerá {col}",
                    "La Comer {place}", "Supermercado {last}", "City Market {col}", "HEB {col}"),
    "hotel": ("Hotel {place}", "Fiesta Inn {col}", "Hotel Camino Real {city}", "City Express {col}",
              "Hotel {hero}"),
    "restaurant": ("Tacos {last}", "Taquería {place}", "Restaurante {last}", "Sushi {place}",
                   "Pizzería {last}", "Fonda {saint}", "Sanborns {col}", "Cafetería {place}",
                   "Mariscos {last}"),
    "bus_terminal": ("Central de Autobuses {city}", "Terminal de Autobuses del {place}",
                     "Terminal {hero}"),
    "park": ("Parque {hero}", "Jardín {saint}", "Bosque de {place}", "Alameda {col}", "Parque Lineal {col}"),
    "cinema": ("Cinépolis {col}", "Cinemex {place}", "Cinépolis VIP {col}"),
}


def geohash_cell(lat: np.ndarray, lon: np.ndarray, precision: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Integer (lat, lon) cell indices of the geohash grid at ``precision``."""
    bits = 5 * precision
    lon_bits, lat_bits = (bits + 1) // 2, bits // 2
    li = np.floor((np.asarray(lat) + 90.0) / 180.0 * (1 << lat_bits)).astype(np.int64)
    lo = np.floor((np.asarray(lon) + 180.0) / 360.0 * (1 << lon_bits)).astype(np.int64)
    return li, lo


def geohash_encode(lat: np.ndarray, lon: np.ndarray, precision: int = 7) -> np.ndarray:
    """Vectorised geohash strings (None where the point is not on the globe)."""
    lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    li, lo = geohash_cell(np.where(ok, lat, 0.0), np.where(ok, lon, 0.0), precision)
    bits = 5 * precision
    lon_bits, lat_bits = (bits + 1) // 2, bits // 2
    li = np.minimum(li, (1 << lat_bits) - 1)
    lo = np.minimum(lo, (1 << lon_bits) - 1)
    code = np.zeros(lat.shape[0], dtype=np.int64)
    il, ia = lon_bits, lat_bits
    for b in range(bits):  # interleave, longitude first, most significant bit first
        if b % 2 == 0:
            il -= 1
            bit = (lo >> il) & 1
        else:
            ia -= 1
            bit = (li >> ia) & 1
        code = (code << 1) | bit
    alphabet = np.frombuffer(b"0123456789bcdefghjkmnpqrstuvwxyz", dtype=np.uint8)
    chars = np.empty((lat.shape[0], precision), dtype=np.uint8)
    for k in range(precision):
        chars[:, precision - 1 - k] = alphabet[(code >> (5 * k)) & 31]
    out = chars.view(f"S{precision}").ravel().astype(object)
    out = np.array([s.decode() for s in out], dtype=object)
    out[~ok] = None
    return out


def _snap_to_cell_center(lat: float, lon: float, precision: int = 7) -> tuple[float, float, float, float]:
    """Centre and size (dlat, dlon) of the geohash cell containing (lat, lon)."""
    bits = 5 * precision
    dlat, dlon = 180.0 / (1 << (bits // 2)), 360.0 / (1 << ((bits + 1) // 2))
    clat = -90.0 + (np.floor((lat + 90.0) / dlat) + 0.5) * dlat
    clon = -180.0 + (np.floor((lon + 180.0) / dlon) + 0.5) * dlon
    return float(clat), float(clon), dlat, dlon


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


@dataclass
class TextPools:
    """Faker-derived vocabularies, drawn once (calling Faker per row is too slow)."""

    streets: list[str]
    first_female: list[str]
    first_male: list[str]
    last: list[str]
    domains: list[str]


def build_text_pools(seed: int) -> TextPools:
    """Seeded Faker es_MX pools of streets, names and company domains."""
    fk = Faker("es_MX")
    fk.seed_instance(seed)
    uniq = lambda f, k: list(dict.fromkeys(f() for _ in range(k)))  # noqa: E731 - ordered de-dup
    return TextPools(
        streets=uniq(fk.street_name, 600),
        first_female=uniq(fk.first_name_female, 400),
        first_male=uniq(fk.first_name_male, 400),
        last=uniq(fk.last_name, 600),
        domains=uniq(fk.domain_name, 60),
    )


@dataclass
class PoiCatalogue:
    """All POIs of all cities, sorted by (city, category).

    ``names`` holds N_NAME_VARIANTS spellings per POI (index poi * V + v);
    ``addresses`` holds N_ADDRESS_VARIANTS per POI.  ``off``/``cnt`` give the
    slice of POIs of a (city, category).  Residential POIs are colonias; their
    socio-economic level ``nse`` (0 poor .. 1 rich) places users' homes.
    """

    city: np.ndarray
    cat: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    nse: np.ndarray
    colonia_name: list[str]  # per POI: the colonia it lies in
    names: pa.Array
    addresses: pa.Array
    off: np.ndarray  # (n_city, n_cat)
    cnt: np.ndarray  # (n_city, n_cat)
    res_by_nse: list[np.ndarray]  # per city: residential POI ids sorted by nse
    canonical: list[str]


N_ADDRESS_VARIANTS = 3


def _fill(template: str, rnd: random.Random, city: City, col: str, pools: TextPools) -> str:
    return template.format(
        hero=rnd.choice(_HEROES), saint=rnd.choice(_SAINTS), place=rnd.choice(_PLACE_WORDS), col=col,
        last=rnd.choice(pools.last), n=rnd.randint(1, 120), city=city.name, state=city.state,
    )


def address_variants(street: str, number: str, colonia: str, cp: str, city: City) -> list[str]:
    """Canonical postal address and two sloppier spellings of it."""
    canon = f"{street} {number}, Col. {colonia}, C.P. {cp}, {city.name}, {city.state}"
    return [
        canon,
        abbreviate(f"{street} #{number}, {colonia}, {city.name}"),
        strip_accents(f"{street} {number} COL {colonia} CP {cp}").upper(),
    ]


def build_catalogue(seed: int, pools: TextPools) -> PoiCatalogue:
    """Seeded POI catalogue of every city (a few hundred POIs per city)."""
    rnd = random.Random(seed * 1_000_003 + 17)
    rng = np.random.default_rng([seed, 0xCA7A])
    rows: list[dict] = []
    for ci, city in enumerate(CITIES):
        # colonias first: real names + generated ones
        n_res = POI_COUNTS["residential"] * city.scale
        cols: list[tuple[str, float]] = list(city.colonias)
        while len(cols) < n_res:
            tpl, shift = _COLONIA_TEMPLATES[rnd.randrange(len(_COLONIA_TEMPLATES))]
            pw = rnd.choice(_PLACE_WORDS)
            word = rnd.choice((pw[0].upper() + pw[1:], rnd.choice(_HEROES), rnd.choice(_SAINTS),
                               rnd.choice(pools.last)))
            cols.append((tpl.format(w=word), float(np.clip(rng.beta(2, 2) + shift, 0.02, 0.98))))
        cols = cols[:n_res]
        col_lat = rng.uniform(city.lat_min, city.lat_max, n_res)
        col_lon = rng.uniform(city.lon_min, city.lon_max, n_res)
        city_rows: list[dict] = []
        for k, (cname, nse) in enumerate(cols):
            keep = cname.split()[0] in {"Fraccionamiento", "Residencial", "Unidad", "Barrio", "Ampliación"}
            city_rows.append(dict(city=ci, cat="residential", lat=col_lat[k], lon=col_lon[k], nse=nse,
                                  colonia=k, name=cname if keep else f"Colonia {cname}"))
        for cat, count in POI_COUNTS.items():
            if cat == "residential":
                continue
            n = count if cat == "airport" else count * city.scale
            for _ in range(n):
                k = rnd.randrange(n_res)
                if cat == "airport":
                    lat, lon, name = city.airport_lat, city.airport_lon, city.airport
                else:
                    lat = float(np.clip(col_lat[k] + rng.normal(0, 0.006), city.lat_min, city.lat_max))
                    lon = float(np.clip(col_lon[k] + rng.normal(0, 0.006), city.lon_min, city.lon_max))
                    name = _fill(rnd.choice(POI_TEMPLATES[cat]), rnd, city, cols[k][0], pools)
                city_rows.append(dict(city=ci, cat=cat, lat=lat, lon=lon, nse=np.nan, colonia=k, name=name))
        # co-location: move each risky POI (and half the hospitals) next to a benign twin
        by_cat: dict[str, list[int]] = {}
        for i, r in enumerate(city_rows):
            by_cat.setdefault(r["cat"], []).append(i)
        for cat, twin_cats in COLOCATED_TWINS.items():
            for i in by_cat[cat]:
                if cat == "hospital" and rnd.random() >= HOSPITAL_TWIN_SHARE:
                    continue
                t = rnd.choice(by_cat[rnd.choice(twin_cats)])
                clat, clon, dlat, dlon = _snap_to_cell_center(city_rows[t]["lat"], city_rows[t]["lon"])
                for j in (t, i):
                    city_rows[j]["lat"] = clat + rnd.uniform(-0.3, 0.3) * dlat
                    city_rows[j]["lon"] = clon + rnd.uniform(-0.3, 0.3) * dlon
                city_rows[i]["colonia"] = city_rows[t]["colonia"]
                city_rows[i]["twin"] = t
        # addresses (a co-located POI shares its twin's street address, different local)
        streets = list(city.avenues) + pools.streets
        for r in city_rows:
            r["street"] = rnd.choice(streets)
            r["number"] = str(rnd.randint(1, 3999))
            free = 5 - len(city.cp_prefix)
            r["cp"] = f"{city.cp_prefix}{rnd.randint(0, 10**free - 1):0{free}d}"
        for r in city_rows:
            if "twin" in r:
                tw = city_rows[r["twin"]]
                r["street"], r["cp"] = tw["street"], tw["cp"]
                r["number"] = f"{tw['number']} Local {rnd.randint(1, 40)}"
        for r in city_rows:
            r["colonia_name"] = cols[r["colonia"]][0]
            r["addr"] = address_variants(r["street"], r["number"], r["colonia_name"], r["cp"], city)
        rows.extend(city_rows)

    order = sorted(range(len(rows)), key=lambda i: (rows[i]["city"], CAT_INDEX[rows[i]["cat"]], i))
    rows = [rows[i] for i in order]
    city_arr = np.array([r["city"] for r in rows], dtype=np.int64)
    cat_arr = np.array([CAT_INDEX[r["cat"]] for r in rows], dtype=np.int64)
    n_city, n_cat = len(CITIES), len(CATEGORIES)
    cnt = np.zeros((n_city, n_cat), dtype=np.int64)
    np.add.at(cnt, (city_arr, cat_arr), 1)
    off = np.concatenate([[0], np.cumsum(cnt.ravel())[:-1]]).reshape(n_city, n_cat)
    names: list[str] = []
    for r in rows:
        names.extend(name_variants(r["name"], rnd))
    addrs = [a for r in rows for a in r["addr"]]
    nse = np.array([r["nse"] for r in rows], dtype=np.float64)
    res_by_nse = []
    for ci in range(n_city):
        res = CAT_INDEX["residential"]
        ids = np.arange(off[ci, res], off[ci, res] + cnt[ci, res])
        res_by_nse.append(ids[np.argsort(nse[ids], kind="stable")])
    assert len(names) == len(rows) * N_NAME_VARIANTS
    return PoiCatalogue(
        city=city_arr, cat=cat_arr,
        lat=np.array([r["lat"] for r in rows]), lon=np.array([r["lon"] for r in rows]), nse=nse,
        colonia_name=[r["colonia_name"] for r in rows],
        names=pa.array(names, pa.string()), addresses=pa.array(addrs, pa.string()),
        off=off, cnt=cnt, res_by_nse=res_by_nse, canonical=[r["name"] for r in rows],
    )

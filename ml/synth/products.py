"""Delivery stores and the Spanish SKU catalogue.

SKU titles are where life stage and income show up in *text*: pañales and
fórmula infantil for parents, losartán and tiras de glucosa for older users,
vino importado and sushi omakase for high incomes, sopa instantánea, recargas
de $20 and cigarros sueltos for users under financial stress (z_text).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .dirt import N_NAME_VARIANTS, name_variants, overlong
from .personas import PERSONAS
from .places import CITIES, TextPools

STORE_COUNTS: dict[str, int] = {
    "taqueria": 15, "pizzeria": 8, "hamburguesas": 8, "sushi_premium": 4, "comida_corrida": 10,
    "cafeteria": 8, "supermercado": 6, "supermercado_premium": 3, "farmacia": 8, "conveniencia": 10,
    "licoreria": 6, "papeleria": 3, "mascotas": 3, "bebes": 2, "saludable": 4,
}
STORE_TYPES: tuple[str, ...] = tuple(STORE_COUNTS)
STORE_INDEX: dict[str, int] = {s: i for i, s in enumerate(STORE_TYPES)}

_NICKS = ("Güero", "Chino", "Flaco", "Gordo", "Compa", "Primo", "Charro", "Paisa", "Tío", "Jefe", "Pariente")
_WORDS = ("del Valle", "Las Palmas", "La Esquina", "El Portal", "Express", "del Centro", "La Estación",
          "Los Arcos", "San Ángel", "Real", "Del Parque")

STORE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "taqueria": ("Tacos El {nick}", "Taquería {word}", "Los Tacos de {first}", "Tacos al Pastor {col}",
                 "Taquería {last}"),
    "pizzeria": ("Pizzas {last}", "Pizzería {word}", "Little Pizza {col}", "Pizza Express {col}"),
    "hamburguesas": ("Burgers {last}", "Hamburguesas El {nick}", "Smash Burger {col}", "Alitas y Hamburguesas {word}"),
    "sushi_premium": ("Sushi Omakase {col}", "Sushi Bar {last}", "Temaki Premium {word}", "Izakaya {col}"),
    "comida_corrida": ("Cocina Económica {first}", "Fonda Doña {first_f}", "Comida Corrida {word}", "Cocina {last}"),
    "cafeteria": ("Café {word}", "Cafetería {last}", "Café de Olla {col}", "Panadería {last}"),
    "supermercado": ("Bodega Aurrerá Express {col}", "Soriana Súper {col}", "Chedraui {col}", "Walmart Súper {col}"),
    "supermercado_premium": ("City Market {col}", "La Europea {col}", "Fresko {col}", "Gourmet Market {col}"),
    "farmacia": ("Farmacias del Ahorro {col}", "Farmacia San Pablo {col}", "Farmacias Similares {word}",
                 "Farmacia Benavides {col}", "Farmacia {last}"),
    "conveniencia": ("OXXO {col}", "7-Eleven {col}", "Tiendita {first}", "Abarrotes {last}", "Miscelánea {first_f}"),
    "licoreria": ("Vinos y Licores {last}", "Depósito de Cerveza {word}", "Six {col}", "Licorería 24 Horas {col}"),
    "papeleria": ("Papelería {last}", "Office Depot {col}", "Papelería Escolar {word}"),
    "mascotas": ("Petco {col}", "Veterinaria {last}", "Mascotas {word}"),
    "bebes": ("Bebé Mundo {col}", "Baby Store {col}", "Pañalera {first_f}"),
    "saludable": ("Green Bowl {col}", "Ensaladas {word}", "Fit Food {col}", "Poke {word}"),
}

# (title, price MXN, tags).  Tags meet Persona.sku_tags; "stress" marks the
# pool drawn with probability UserLatents.stress_sku.
SKUS: dict[str, tuple[tuple[str, float, tuple[str, ...]], ...]] = {
    "taqueria": (
        ("Orden de tacos al pastor (5 pzas)", 85, ()), ("Tacos de suadero (4 pzas)", 80, ()),
        ("Gringa de pastor", 75, ("student",)), ("Quesadilla de queso", 35, ("budget",)),
        ("Tacos de canasta (6 pzas)", 48, ("budget", "student")), ("Orden de tacos de barbacoa", 120, ("family",)),
        ("Consomé de barbacoa", 55, ("family",)), ("Refresco de cola 600 ml", 25, ()),
        ("Agua de horchata 1 L", 35, ("family",)), ("Tacos de cabeza (3 pzas)", 60, ("budget",)),
        ("Kilo de carnitas con tortillas", 320, ("family",)), ("Cerveza Victoria 355 ml", 38, ("alcohol", "party")),
    ),
    "pizzeria": (
        ("Pizza grande pepperoni", 229, ("student", "family")), ("Pizza mediana hawaiana", 179, ("student",)),
        ("Pizza familiar mexicana", 289, ("family", "parent")),
        ("Paquete fiesta 2 pizzas + refresco 2 L", 399, ("party", "family")), ("Pan con ajo 8 pzas", 69, ()),
        ("Alitas BBQ 10 pzas", 159, ("party",)), ("Pizza individual margarita", 99, ("budget",)),
        ("Pizza de trufa y prosciutto", 389, ("premium",)),
    ),
    "hamburguesas": (
        ("Hamburguesa doble con queso", 149, ("student",)),
        ("Combo hamburguesa clásica con papas", 129, ("student", "budget")),
        ("Alitas picantes 12 pzas", 179, ("party",)), ("Papas gajo grandes", 59, ()),
        ("Hot dog jumbo", 45, ("budget", "student")), ("Malteada de chocolate", 69, ("parent",)),
        ("Cajita infantil con juguete", 89, ("parent",)), ("Hamburguesa wagyu con queso brie", 289, ("premium",)),
    ),
    "sushi_premium": (
        ("Sushi omakase premium 12 pzas", 890, ("premium",)), ("Sashimi de salmón noruego", 420, ("premium",)),
        ("Nigiri de atún toro 2 pzas", 310, ("premium",)), ("Rollo California 10 pzas", 159, ()),
        ("Sake junmai 300 ml", 380, ("premium", "alcohol")), ("Edamames con sal de mar", 95, ("fitness",)),
        ("Ramen tonkotsu", 245, ("premium",)),
    ),
    "comida_corrida": (
        ("Comida corrida del día (sopa, guisado y agua)", 85, ("office", "budget")),
        ("Chilaquiles verdes con pollo", 95, ("office",)), ("Enchiladas suizas", 110, ("office",)),
        ("Caldo de pollo", 80, ("elder", "family")), ("Mole poblano con arroz", 120, ("family",)),
        ("Pechuga asada con ensalada", 115, ("fitness", "office")), ("Torta de milanesa", 70, ("budget", "student")),
        ("Tamales oaxaqueños 3 pzas", 66, ("elder", "family")),
        ("Menú infantil (sopa de fideo y nuggets)", 75, ("parent",)),
    ),
    "cafeteria": (
        ("Café americano grande", 55, ("office",)), ("Latte de avena", 79, ("office", "premium")),
        ("Concha de vainilla", 18, ("budget",)), ("Chocolate caliente", 60, ("parent", "elder")),
        ("Bagel de salmón", 145, ("premium",)), ("Croissant de jamón y queso", 79, ("office",)),
        ("Frappé de caramelo", 89, ("student",)), ("Café de olla", 35, ("elder",)),
    ),
    "supermercado": (
        ("Pañales etapa 3 paquete 40 piezas", 289, ("parent",)), ("Fórmula infantil etapa 1 800 g", 459, ("parent",)),
        ("Toallitas húmedas 80 piezas", 69, ("parent",)), ("Papilla de manzana 113 g", 19, ("parent",)),
        ("Leche entera 1 L", 28, ("family",)), ("Huevo blanco 18 piezas", 72, ("family",)),
        ("Tortillas de maíz 1 kg", 24, ("family", "budget")), ("Frijol negro 1 kg", 38, ("budget", "family")),
        ("Arroz blanco 1 kg", 32, ("budget",)), ("Aceite vegetal 1 L", 45, ("budget",)),
        ("Detergente en polvo 1 kg", 49, ("family",)), ("Papel higiénico 12 rollos", 95, ("family",)),
        ("Avena 1 kg", 42, ("fitness", "elder")), ("Pan de caja integral", 55, ("family",)),
        ("Sopa instantánea de camarón", 14, ("budget", "stress")),
        ("Sopa instantánea paquete 12 piezas", 149, ("budget", "stress")),
        ("Caguama Tecate 1.2 L", 45, ("alcohol", "stress")), ("Cereal infantil de colores", 65, ("parent",)),
        ("Yogur bebible fresa 1 kg", 45, ("parent",)), ("Galletas de animalitos 1 kg", 59, ("parent", "budget")),
        ("Proteína en polvo whey 1 kg", 699, ("fitness", "premium")),
        ("Pechuga de pollo 1 kg", 159, ("fitness", "family")),
    ),
    "supermercado_premium": (
        ("Vino tinto importado Rioja Reserva 750 ml", 689, ("premium", "alcohol")),
        ("Champaña francesa brut 750 ml", 1450, ("premium", "alcohol", "party")),
        ("Queso manchego español 250 g", 219, ("premium",)), ("Jamón serrano rebanado 100 g", 159, ("premium",)),
        ("Salmón noruego fresco 500 g", 389, ("premium", "fitness")),
        ("Aceite de oliva extra virgen italiano 500 ml", 249, ("premium",)),
        ("Café de especialidad en grano 340 g", 289, ("premium", "office")),
        ("Agua mineral importada 750 ml", 65, ("premium",)), ("Chocolate suizo 100 g", 89, ("premium",)),
        ("Fórmula infantil orgánica 800 g", 689, ("parent", "premium")),
        ("Pañales ecológicos premium 30 piezas", 399, ("parent", "premium")),
    ),
    "farmacia": (
        ("Losartán 50 mg 30 tabletas (presión arterial)", 89, ("elder",)),
        ("Metformina 850 mg 30 tabletas", 65, ("elder",)),
        ("Tiras reactivas para glucosa 50 piezas", 489, ("elder",)), ("Glucómetro con lancetas", 599, ("elder",)),
        ("Enalapril 10 mg medicamento para la presión", 75, ("elder",)), ("Pastillero semanal", 49, ("elder",)),
        ("Pañal para adulto talla M 10 piezas", 189, ("elder",)), ("Paracetamol 500 mg 20 tabletas", 35, ()),
        ("Suero oral sabor coco 625 ml", 32, ("party",)),
        ("Remedio para la cruda efervescente", 45, ("party", "stress")),
        ("Condones 3 piezas", 75, ("party", "student")),
        ("Prueba de embarazo", 89, ("parent",)), ("Jarabe infantil para la tos", 119, ("parent",)),
        ("Termómetro digital", 99, ("parent",)), ("Multivitamínico 60 cápsulas", 249, ("fitness", "health")),
        ("Cubrebocas KN95 10 piezas", 99, ("health",)), ("Guantes de nitrilo caja 100 piezas", 189, ("health",)),
        ("Melatonina para dormir 30 tabletas", 179, ("health", "stress")),
        ("Analgésico genérico 10 tabletas", 19, ("budget", "stress")),
    ),
    "conveniencia": (
        ("Recarga tiempo aire $20", 20, ("stress",)), ("Recarga tiempo aire $200", 200, ()),
        ("Cigarros sueltos 3 piezas", 24, ("stress",)), ("Cajetilla de cigarros 20 piezas", 95, ("party",)),
        ("Bebida energética 473 ml", 35, ("student", "stress")),
        ("Sopa instantánea vaso", 18, ("budget", "stress", "student")),
        ("Papas fritas 170 g", 45, ("student", "party")),
        ("Refresco 2 L", 42, ("family",)), ("Hielo 5 kg", 35, ("party",)), ("Pan dulce empaquetado", 22, ("budget",)),
        ("Recarga para apuestas deportivas $100", 100, ("stress",)), ("Sándwich de jamón", 39, ("office", "student")),
        ("Agua natural 1.5 L", 18, ()),
    ),
    "licoreria": (
        ("Cerveza six pack 355 ml", 119, ("alcohol", "party")),
        ("Cartón de cerveza 24 latas", 419, ("alcohol", "party")),
        ("Mezcal artesanal espadín 750 ml", 589, ("alcohol", "party")),
        ("Tequila reposado 1 L", 459, ("alcohol", "party")), ("Ron blanco 1 L", 219, ("alcohol", "party", "budget")),
        ("Brandy económico 1 L", 169, ("alcohol", "stress", "budget")),
        ("Caguama 1.2 L", 45, ("alcohol", "stress", "budget")),
        ("Whisky escocés 12 años 750 ml", 1190, ("premium", "alcohol")),
        ("Vino tinto importado Malbec 750 ml", 429, ("premium", "alcohol")), ("Hielo 5 kg", 35, ("party",)),
        ("Botana mixta 500 g", 79, ("party",)), ("Vasos desechables 50 piezas", 39, ("party",)),
    ),
    "papeleria": (
        ("Útiles escolares paquete primaria", 349, ("parent",)),
        ("Cuaderno profesional raya 100 hojas", 45, ("student", "parent")), ("Colores 24 piezas", 89, ("parent",)),
        ("Mochila escolar infantil", 399, ("parent",)), ("Calculadora científica", 299, ("student",)),
        ("Lonchera térmica infantil", 189, ("parent",)), ("Resma de papel carta 500 hojas", 119, ("office",)),
        ("Impresión de tesis engargolada", 150, ("student",)),
    ),
    "mascotas": (
        ("Croquetas para perro adulto 4 kg", 389, ("family",)), ("Arena para gato 10 kg", 199, ()),
        ("Alimento húmedo para gato 12 piezas", 259, ("premium",)), ("Premios para perro", 89, ()),
        ("Pipeta antipulgas", 249, ("family",)),
    ),
    "bebes": (
        ("Pañales recién nacido 40 piezas", 259, ("parent",)), ("Fórmula infantil etapa 2 800 g", 479, ("parent",)),
        ("Biberón anticólico 260 ml", 229, ("parent",)), ("Toallitas húmedas 3 paquetes", 149, ("parent",)),
        ("Crema para rozaduras", 109, ("parent",)), ("Chupón ortodóntico", 99, ("parent",)),
    ),
    "saludable": (
        ("Ensalada César con pollo", 149, ("fitness", "office")),
        ("Bowl de quinoa y salmón", 219, ("fitness", "premium")),
        ("Poke de atún", 199, ("fitness", "premium")), ("Wrap de pavo", 129, ("office", "fitness")),
        ("Jugo verde 500 ml", 65, ("fitness", "elder")), ("Smoothie de proteína", 99, ("fitness", "student")),
    ),
}

#: Income tiers for SKU choice: monthly income < 10k, 10k-35k, >= 35k MXN.
INCOME_TIER_EDGES: tuple[float, ...] = (10_000.0, 35_000.0)
_TIER_FACTORS: dict[str, tuple[float, float, float]] = {"premium": (0.15, 1.0, 4.0), "budget": (3.0, 1.0, 0.2)}
#: Users aged >= this buy "elder" SKUs 3x more often, whatever their persona.
ELDER_AGE = 55
#: Weight of stress SKUs inside the ordinary (non-stress) pool.
STRESS_IN_NORMAL_POOL = 0.3


@dataclass
class StoreCatalogue:
    """Delivery stores sorted by (city, store type); names have N_NAME_VARIANTS spellings."""

    city: np.ndarray
    stype: np.ndarray
    names: pa.Array
    off: np.ndarray  # (n_city, n_type)
    cnt: np.ndarray


@dataclass
class SkuTables:
    """SKU titles/prices and keyed CDFs for vectorised sampling.

    ``cdf`` is the concatenation of per-key CDFs each shifted by its key, so
    ``np.searchsorted(cdf, key + u, side="right")`` samples key's distribution
    for a whole vector at once; ``sku_of`` maps the result to a SKU id.
    Normal keys: ((persona * 3 + tier) * 2 + old) * n_types + type; stress
    keys: n_normal_keys + type (types without stress SKUs use the normal key).
    """

    titles: pa.Array  # (N_NAME_VARIANTS + 1) spellings per SKU; last = overlong
    price: np.ndarray
    stype: np.ndarray
    cdf: np.ndarray
    sku_of: np.ndarray
    n_normal_keys: int
    has_stress: np.ndarray  # per store type


def build_store_catalogue(seed: int, pools: TextPools, colonias_by_city: list[list[str]]) -> StoreCatalogue:
    """Seeded set of delivery stores per city with Spanish names."""
    rnd = random.Random(seed * 7_919 + 3)
    city_l, type_l, names = [], [], []
    for ci, city in enumerate(CITIES):
        for ti, st in enumerate(STORE_TYPES):
            for _ in range(STORE_COUNTS[st] * city.scale):
                name = rnd.choice(STORE_TEMPLATES[st]).format(
                    nick=rnd.choice(_NICKS), word=rnd.choice(_WORDS), first=rnd.choice(pools.first_male),
                    first_f=rnd.choice(pools.first_female), last=rnd.choice(pools.last),
                    col=rnd.choice(colonias_by_city[ci]))
                city_l.append(ci)
                type_l.append(ti)
                names.extend(name_variants(name, rnd))
    city_a, type_a = np.array(city_l), np.array(type_l)
    cnt = np.zeros((len(CITIES), len(STORE_TYPES)), dtype=np.int64)
    np.add.at(cnt, (city_a, type_a), 1)
    off = np.concatenate([[0], np.cumsum(cnt.ravel())[:-1]]).reshape(cnt.shape)
    return StoreCatalogue(city_a, type_a, pa.array(names, pa.string()), off, cnt)


def build_sku_tables(seed: int) -> SkuTables:
    """Flatten SKUS and precompute the keyed CDFs (persona x income tier x age x store type)."""
    rnd = random.Random(seed * 104_729 + 11)
    titles, price, stype, tags = [], [], [], []
    for ti, st in enumerate(STORE_TYPES):
        for title, p, tg in SKUS[st]:
            variants = name_variants(title, rnd)
            titles.extend(variants + [overlong(title, rnd)])
            price.append(float(p))
            stype.append(ti)
            tags.append(tg)
    price_a, stype_a = np.array(price), np.array(stype)
    n_types = len(STORE_TYPES)
    cdf_parts, sku_parts = [], []
    key = 0
    for persona in PERSONAS:
        for tier in range(3):
            for old in range(2):
                for ti in range(n_types):
                    ids = np.flatnonzero(stype_a == ti)
                    w = np.ones(ids.shape[0])
                    for j, s in enumerate(ids):
                        for tg in tags[s]:
                            w[j] *= persona.sku_tags.get(tg, 1.0)
                            if tg in _TIER_FACTORS:
                                w[j] *= _TIER_FACTORS[tg][tier]
                            if tg == "elder" and old:
                                w[j] *= 3.0
                            if tg == "stress":
                                w[j] *= STRESS_IN_NORMAL_POOL
                    c = np.cumsum(w) / w.sum()
                    c[-1] = 1.0
                    cdf_parts.append(key + c)
                    sku_parts.append(ids)
                    key += 1
    n_normal = key
    has_stress = np.zeros(n_types, dtype=bool)
    for ti in range(n_types):
        ids = np.array([s for s in np.flatnonzero(stype_a == ti) if "stress" in tags[s]], dtype=np.int64)
        if ids.shape[0] == 0:
            ids = np.flatnonzero(stype_a == ti)[:1]  # placeholder block, never sampled
        else:
            has_stress[ti] = True
        c = np.arange(1, ids.shape[0] + 1) / ids.shape[0]
        cdf_parts.append(key + c)
        sku_parts.append(ids)
        key += 1
    return SkuTables(
        titles=pa.array(titles, pa.string()), price=price_a, stype=stype_a,
        cdf=np.concatenate(cdf_parts), sku_of=np.concatenate(sku_parts), n_normal_keys=n_normal,
        has_stress=has_stress,
    )


def income_tier(income: np.ndarray) -> np.ndarray:
    """0 / 1 / 2 by INCOME_TIER_EDGES."""
    return np.searchsorted(np.asarray(INCOME_TIER_EDGES), income, side="right")


N_TITLE_VARIANTS = N_NAME_VARIANTS + 1

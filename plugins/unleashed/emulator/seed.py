"""A realistic New Zealand retailer's Unleashed company, derived from a seed.

By default the catalogue is empty apart from a small assembled-kit range: the integration imports
products from the POS
(https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction "Unleashed
imports products from the POS").
Seeded records are dated 30 days before the emulated "now" so that ``modifiedSince`` tests can tell
seed data from what a test writes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import product as cartesian
from typing import Any

from .adjustments import create_adjustment
from .boms import create_bom
from .customers import upsert_customer
from .products import upsert_product
from .state import Record, UnleashedState

D = Decimal

_WAREHOUSES = [
    ("Auckland Central Store", "12", "Queen Street", "Auckland Central", "Auckland", "Auckland", "1010", "09 300 1200"),
    ("Wellington Store", "88", "Cuba Street", "Te Aro", "Wellington", "Wellington", "6011", "04 801 2200"),
    ("Christchurch Warehouse", "5", "Halswell Junction Road", "Hornby", "Christchurch", "Canterbury", "8042", "03 349 3300"),
    ("Hamilton Store", "301", "Victoria Street", "Hamilton Central", "Hamilton", "Waikato", "3204", "07 838 4400"),
    ("Tauranga Store", "44", "Devonport Road", "Tauranga", "Tauranga", "Bay of Plenty", "3110", "07 578 5500"),
    ("Dunedin Store", "170", "George Street", "Dunedin Central", "Dunedin", "Otago", "9016", "03 477 6600"),
]
_CONTACTS = ["Aroha Ngata", "James Wilson", "Mei Chen", "Liam O'Connor", "Priya Patel", "Sione Tupou"]

# (code, description, purchase price, sell price)
_COMPONENTS = [
    ("COFFEE-BEANS-1KG", "Single Origin Coffee Beans 1kg", "24.00", "42.00"),
    ("MUG-CERAMIC", "Ceramic Coffee Mug 350ml", "6.50", "18.00"),
    ("FILTER-PAPERS-100", "Coffee Filter Papers (100 pack)", "2.80", "7.50"),
    ("POUR-OVER-CONE", "Pour-Over Dripper Cone", "9.00", "24.00"),
    ("GIFT-BOX", "Gift Box with Insert", "3.20", "8.00"),
]
# A sub-assembly and a kit that uses it; the mug is shared between both levels.
_SUB_ASSEMBLY = ("BREW-SET", "Pour-Over Brew Set", "39.00", [("POUR-OVER-CONE", "1"), ("FILTER-PAPERS-100", "1"), ("MUG-CERAMIC", "1")])
_KIT = ("GIFT-PACK-BREW", "Coffee Lover's Gift Pack", "89.00", [("BREW-SET", "1"), ("COFFEE-BEANS-1KG", "1"), ("MUG-CERAMIC", "1"), ("GIFT-BOX", "1")])

_BASES = [
    ("TEE", "Organic Cotton Tee", True), ("HOOD", "Fleece Hoodie", True), ("SOCK", "Merino Socks", True),
    ("CAP", "Canvas Cap", False), ("BEANIE", "Wool Beanie", False), ("TOTE", "Canvas Tote Bag", False),
    ("BOTTLE", "Insulated Bottle 750ml", False), ("CANDLE", "Soy Candle", False),
    ("NOTEBOOK", "A5 Dot Grid Notebook", False), ("TEA", "Loose Leaf Tea 100g", False),
]
_COLOURS = [("BLK", "Black"), ("WHT", "White"), ("NVY", "Navy"), ("GRN", "Forest Green"), ("RED", "Brick Red")]
_SIZES = ["S", "M", "L", "XL"]
_FIRST = ["Aroha", "James", "Mei", "Liam", "Priya", "Sione", "Charlotte", "Wiremu", "Olivia", "Noah", "Hana", "Jack"]
_LAST = ["Ngata", "Wilson", "Chen", "O'Connor", "Patel", "Tupou", "Smith", "Walker", "Brown", "Taylor", "Singh", "Martin"]

# https://apidocs.unleashedsoftware.com/Taxes: TaxRate is a fraction with 6 dp; the same code can exist for
# revenue and for expenses.
DEFAULT_TAXES: list[dict[str, Any]] = [
    {"TaxCode": "G.S.T.", "Description": "15% GST On Sales", "TaxRate": "0.150000", "CanApplyToRevenue": True, "CanApplyToExpenses": False},
    {"TaxCode": "NONE", "Description": "No GST", "TaxRate": "0.000000", "CanApplyToRevenue": True, "CanApplyToExpenses": False},
    {"TaxCode": "NONE", "Description": "No GST", "TaxRate": "0.000000", "CanApplyToRevenue": False, "CanApplyToExpenses": True},
    {"TaxCode": "GST12.5", "Description": "12.5% GST (pre October 2010)", "TaxRate": "0.125000", "CanApplyToRevenue": True, "CanApplyToExpenses": False},
]
_CURRENCIES = [
    ("NZD", "New Zealand, Dollars", None, None),
    ("AUD", "Australia, Dollars", "0.920000", "0.930000"),
    ("USD", "United States of America, Dollars", "0.600000", "0.610000"),
    ("GBP", "United Kingdom, Pounds", "0.470000", "0.480000"),
]


@dataclass
class SeedOptions:
    warehouses: int = 3
    products: int = 0
    components_kit: bool = True
    customers: int = 0
    sales_groups: tuple[str, ...] = ("Retail", "Online", "Wholesale")
    base_currency: str = "NZD"
    taxes: tuple[dict[str, Any], ...] = tuple(DEFAULT_TAXES)


def _warehouse(state: UnleashedState, index: int) -> Record:
    if index < len(_WAREHOUSES):
        name, no, street, suburb, city, region, post, phone = _WAREHOUSES[index]
    else:
        name, no, street, suburb, city, region, post, phone = (
            f"Warehouse {index + 1}", str(index + 1), "Industrial Way", "Penrose", "Auckland", "Auckland", "1061", "09 500 0000",
        )
    return {
        "Guid": state.new_id(), "WarehouseCode": f"W{index + 1}", "WarehouseName": name,
        "IsDefault": index == 0, "Obsolete": False, "StreetNo": no, "AddressLine1": street,
        "AddressLine2": None, "Suburb": suburb, "City": city, "Region": region, "Country": "New Zealand",
        "PostCode": post, "PhoneNumber": phone, "FaxNumber": None, "MobileNumber": None, "DDINumber": None,
        "ContactName": _CONTACTS[index % len(_CONTACTS)], "LastModifiedOn": state.now(),
    }


def _reference_data(state: UnleashedState, options: SeedOptions) -> None:
    now = state.now()
    for tax in options.taxes:
        guid = state.new_id()
        state.taxes[guid] = {
            "Guid": guid, "TaxCode": str(tax["TaxCode"]), "Description": str(tax.get("Description") or tax["TaxCode"]),
            "TaxRate": D(str(tax["TaxRate"])).quantize(D("0.000001")),
            "CanApplyToRevenue": bool(tax.get("CanApplyToRevenue", True)),
            "CanApplyToExpenses": bool(tax.get("CanApplyToExpenses", False)),
            "Obsolete": False, "LastModifiedOn": now,
        }
    codes = [c[0] for c in _CURRENCIES]
    currencies = list(_CURRENCIES)
    if options.base_currency not in codes:
        currencies.insert(0, (options.base_currency, options.base_currency, None, None))
    for code, description, buy, sell in currencies:
        guid = state.new_id()
        base = code == options.base_currency
        # https://apidocs.unleashedsoftware.com/Currencies: LastModifiedOn is null if rates were never set;
        # the base currency has none.
        state.currencies[guid] = {
            "Guid": guid, "CurrencyCode": code, "Description": description,
            "DefaultBuyRate": None if base or buy is None else D(buy),
            "DefaultSellRate": None if base or sell is None else D(sell),
            "LastModifiedOn": None if base or buy is None else now,
        }
    for name in options.sales_groups:
        guid = state.new_id()
        state.sales_groups[guid] = {"Guid": guid, "GroupName": name, "Obsolete": False}


def _add_product(state: UnleashedState, code: str, description: str, buy: str, sell: str, group: str) -> Record:
    record, _ = upsert_product(state, state.new_id(), {
        "ProductCode": code, "ProductDescription": description, "DefaultPurchasePrice": buy,
        "DefaultSellPrice": sell, "LastCost": buy, "UnitOfMeasure": {"Name": "EA"},
        "ProductGroup": {"GroupName": group}, "XeroSalesAccount": "200", "XeroCostOfGoodsAccount": "310",
        "PurchaseAccount": "300", "XeroSalesTaxCode": "OUTPUT2", "XeroSalesTaxRate": "0.15",
        "XeroTaxCode": "INPUT2", "XeroTaxRate": "0.15",
    })
    return record


def _receive(state: UnleashedState, warehouse: Record, lines: list[tuple[Record, int]], reason: str) -> None:
    lines = [(p, qty) for p, qty in lines if qty > 0]
    if not lines:
        return
    create_adjustment(state, state.new_id(), {
        "Warehouse": {"Guid": warehouse["Guid"]}, "AdjustmentReason": reason,
        "StockAdjustmentLines": [
            {"Product": {"Guid": p["Guid"]}, "NewQuantity": qty, "NewActualValue": str(D(qty) * p["DefaultPurchasePrice"])}
            for p, qty in lines
        ],
    })


def _components_kit(state: UnleashedState, rng: random.Random, warehouses: list[Record]) -> None:
    parts = {code: _add_product(state, code, desc, buy, sell, "Coffee") for code, desc, buy, sell in _COMPONENTS}
    for code, desc, sell, lines in (_SUB_ASSEMBLY, _KIT):
        assembled = _add_product(state, code, desc, "0.00", sell, "Gift Packs")
        parts[code] = assembled
        create_bom(state, state.new_id(), {
            "Product": {"Guid": assembled["Guid"]}, "CanAutoAssemble": True,
            "BillOfMaterialsLines": [
                {"LineNumber": n, "Product": {"Guid": parts[c]["Guid"]}, "Quantity": q} for n, (c, q) in enumerate(lines, start=1)
            ],
        })
    for warehouse in warehouses:
        counts = [(parts[code], rng.randint(6, 30)) for code, *_ in _COMPONENTS]
        _receive(state, warehouse, counts, "Opening stock")


def _catalogue(state: UnleashedState, rng: random.Random, warehouses: list[Record], count: int) -> None:
    combos: list[tuple[str, str]] = []
    for (base, name, sized), (colour, colour_name) in cartesian(_BASES, _COLOURS):
        for size in (_SIZES if sized else [None]):
            code = f"{base}-{colour}" + (f"-{size}" if size else "")
            combos.append((code, f"{name} - {colour_name}" + (f" / {size}" if size else "")))
    rng.shuffle(combos)
    made: list[Record] = []
    for i in range(count):
        code, description = combos[i % len(combos)]
        if i >= len(combos):
            code, description = f"{code}-{i // len(combos) + 1}", f"{description} (range {i // len(combos) + 1})"
        cost = D(rng.randint(300, 4000)) / 100
        sell = (cost * D(rng.choice(["2.0", "2.2", "2.5", "2.8"]))).quantize(D("0.10"))
        made.append(_add_product(state, code, description, str(cost), str(sell), code.split("-")[0].title()))
    for warehouse in warehouses:
        _receive(state, warehouse, [(p, rng.randint(0, 40) if rng.random() < 0.75 else 0) for p in made], "Opening stock")


def _customers(state: UnleashedState, rng: random.Random, count: int) -> None:
    for i in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        upsert_customer(state, state.new_id(), {
            "CustomerCode": f"CUST{i + 1:05d}", "CustomerName": f"{first} {last}",
            "ContactFirstName": first, "ContactLastName": last,
            "Email": f"{first}.{last}{i + 1}@example.co.nz".lower().replace("'", ""),
            "Addresses": [{"AddressType": "Physical", "StreetAddress": f"{rng.randint(1, 300)} Main Road", "City": "Auckland", "Country": "New Zealand", "IsDefault": True}],
        })


def seed_reference(state: UnleashedState, options: SeedOptions) -> None:
    """What every company has even before any seeding: taxes, currencies, groups, warehouses."""
    state.frozen_now = state.now_fn() - timedelta(days=30)
    try:
        _reference_data(state, options)
        for index in range(max(1, options.warehouses)):
            warehouse = _warehouse(state, index)
            state.warehouses[warehouse["Guid"]] = warehouse
    finally:
        state.frozen_now = None


def seed_company(state: UnleashedState, rng: random.Random, options: SeedOptions) -> None:
    """The retailer's own data: the kit range, an optional catalogue, optional customers."""
    state.frozen_now = state.now_fn() - timedelta(days=30)
    try:
        warehouses = sorted(state.warehouses.values(), key=lambda w: w["WarehouseCode"])
        if options.components_kit:
            _components_kit(state, rng, warehouses)
        if options.products > 0:
            _catalogue(state, rng, warehouses, options.products)
        if options.customers > 0:
            _customers(state, rng, options.customers)
    finally:
        state.frozen_now = None


def seed_options(options: dict[str, Any]) -> SeedOptions:
    return SeedOptions(
        warehouses=int(options.get("warehouses", 3)),
        products=int(options.get("products", 0)),
        components_kit=bool(options.get("components_kit", True)),
        customers=int(options.get("customers", 0)),
        sales_groups=tuple(options.get("sales_groups", ("Retail", "Online", "Wholesale"))),
        base_currency=str(options.get("base_currency", "NZD")),
        taxes=tuple(options.get("taxes") or DEFAULT_TAXES),
    )

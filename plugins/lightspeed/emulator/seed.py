"""Deterministic seeding of an emulated retailer: same seed, same store, same ids."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

from .seed_data import (
    ADJECTIVES,
    BRANDS,
    COLOUR_CODES,
    FIRST_NAMES,
    ITEMS,
    LAST_NAMES,
    OUTLETS,
    PRODUCT_TYPES,
    STREETS,
    SUPPLIERS,
)
from .state import LightspeedStore
from .store import iso
from .versioned import Record


def seed_store(store: LightspeedStore) -> None:
    """Fill an empty store from ``store.rng`` and ``store.opts``."""
    rng = store.rng
    # Real versions are large numbers (spec examples: 59780745, 4284638488); do not start at 1
    # so a client that confuses a version with a count shows itself.
    store.version = 1_000_000 + rng.randrange(100_000)
    _seed_taxes(store)
    _seed_retailer(store)
    _seed_users_and_payment_types(store)
    _seed_outlets_and_registers(store)
    _seed_discount_product(store)
    _seed_products(store)
    _seed_customers(store)
    _seed_sales(store)


def _ago(store: LightspeedStore, days: float) -> str:
    return iso(store.clock.now() - timedelta(days=days))


def _seed_taxes(store: LightspeedStore) -> None:
    # The spec's /taxes example: "No Tax" (rate 0) and a default "GST" (rate 0.15).
    for name, rate, default in (("No Tax", Decimal("0"), False), ("GST", Decimal("0.15"), True)):
        tax: Record = {
            "id": store.new_id(),
            "name": name,
            "display_name": name,
            "is_default": default,
            "rates": [{"id": store.new_id(), "name": name, "display_name": name, "rate": rate}],
            "deleted_at": None,
            "version": 0,
        }
        store.save("taxes", tax)
        if default:
            store.default_tax_id = tax["id"]
        else:
            store.no_tax_id = tax["id"]


def _seed_retailer(store: LightspeedStore) -> None:
    store.customer_group_id = store.new_id()
    store.discount_product_id = store.new_id()
    prefix = store.opts.domain_prefix
    store.retailer = {
        "id": store.new_id(),
        "domain_prefix": prefix,
        "store_url": f"https://{prefix}.retail.lightspeed.app",
        "account_status": "ACTIVE",
        "account_type": "CUSTOMER",
        "name": prefix.replace("-", " ").title(),
        "discount_product_id": store.discount_product_id,
        "no_tax_group_id": store.no_tax_id,
        "culture": "en-NZ",
        "tax_exclusive": False,
        "country": "NZ",
        "currency": {"code": "NZD", "symbol": "$"},
        "store_credit": False,
        "created_at": _ago(store, 730),
        "activated_at": _ago(store, 730),
    }


def _seed_users_and_payment_types(store: LightspeedStore) -> None:
    for n, (username, display, account_type) in enumerate(
        (("owner", "Store Owner", "admin"), ("cashier", "Front Counter", "cashier"))
    ):
        user: Record = {
            "id": store.new_id(),
            "username": username,
            "display_name": display,
            "email": f"{username}@{store.opts.domain_prefix}.example.com",
            "account_type": account_type,
            "is_primary_user": n == 0,
            "enabled": True,
            "restricted_outlet_id": None,
            "restricted_outlet_ids": [],
            "permissions": [],
            "created_at": _ago(store, 700),
            "updated_at": _ago(store, 700),
            "deleted_at": None,
            "version": 0,
        }
        store.save("users", user)
        if n == 0:
            store.default_user_id = user["id"]
    # type_id values are illustrative; the spec's example shows Gift Card 118, Loyalty 106.
    for name, type_id in (("Cash", 1), ("Credit Card", 2), ("EFTPOS", 3), ("Gift Card", 118)):
        ptype: Record = {"id": store.new_id(), "name": name, "type_id": type_id, "deleted_at": None, "version": 0}
        store.save("payment_types", ptype)
        if name == "Cash":
            store.default_payment_type_id = ptype["id"]


def _seed_outlets_and_registers(store: LightspeedStore) -> None:
    opts = store.opts
    for n in range(opts.outlets):
        name, city, suburb, postcode, code = OUTLETS[n % len(OUTLETS)]
        if n >= len(OUTLETS):
            name, code = f"{name} {n // len(OUTLETS) + 1}", f"{code}{n // len(OUTLETS) + 1}"
        outlet: Record = {
            "id": store.new_id(),
            "name": name,
            "time_zone": "Pacific/Auckland",
            "default_tax_id": store.default_tax_id,
            "currency": "NZD",
            "currency_symbol": "$",
            "display_prices": "inclusive",
            "physical_address_1": f"{rng_street_number(store)} {STREETS[n % len(STREETS)]}",
            "physical_address_2": "",
            "physical_suburb": suburb,
            "physical_city": city,
            "physical_postcode": postcode,
            "physical_state": "",
            "physical_country_id": "NZ",
            "email": f"{code.lower()}@{opts.domain_prefix}.example.com",
            "phone": f"09 555 {1000 + n:04d}",
            "attributes": [],
            "deleted_at": None,
            "version": 0,
        }
        store.save("outlets", outlet)
        for r in range(opts.registers_per_outlet):
            register: Record = {
                "id": store.new_id(),
                "name": "Main Register" if r == 0 else f"Register {r + 1}",
                "outlet_id": outlet["id"],
                "ask_for_note_on_save": 1,
                "print_note_on_receipt": False,
                "ask_for_user_on_sale": False,
                "show_discounts_on_receipts": True,
                "print_receipt": True,
                "email_receipt": False,
                "invoice_prefix": f"{code}{r + 1}-",
                "invoice_suffix": "",
                "invoice_sequence": 1000,
                "button_layout_id": None,
                "is_open": True,
                "is_quick_keys_enabled": True,
                "receipt_template_id": store.new_id(),
                "register_open_time": _ago(store, 0.25),
                "register_close_time": None,
                "register_open_sequence_id": store.new_id(),
                "cash_managed_payment_type_id": store.default_payment_type_id,
                "deleted_at": None,
                "version": 0,
            }
            store.save("registers", register)


def rng_street_number(store: LightspeedStore) -> int:
    return store.rng.randint(1, 240)


def _seed_discount_product(store: LightspeedStore) -> None:
    # Every retailer has a system "vend-discount" product used for sale-level discounts, its
    # id given by /retailer as discount_product_id (docs.vendhq.com guide "Discounts").
    store.create_product(
        "Discount",
        "vend-discount",
        Decimal("0"),
        handle="vend-discount",
        has_inventory=False,
        created_at=store.retailer["created_at"],
        product_id=store.discount_product_id,
    )


def _family_plan(store: LightspeedStore, total: int) -> list[int]:
    """Group sizes adding up to ``total``: about 10% of products in families of 2-3 variants."""
    rng = store.rng
    sizes: list[int] = []
    in_families = 0
    while in_families < round(total * 0.10):
        size = min(rng.choice((2, 3)), total - in_families)
        if size < 2:
            break
        sizes.append(size)
        in_families += size
    sizes.extend([1] * (total - in_families))
    rng.shuffle(sizes)
    return sizes


def _seed_products(store: LightspeedStore) -> None:
    rng = store.rng
    suppliers = [{"id": store.new_id(), "name": n, "deleted_at": None} for n in SUPPLIERS]
    brands = [{"id": store.new_id(), "name": n, "deleted_at": None, "version": store.version} for n in BRANDS]
    types = {
        code: {"id": store.new_id(), "name": n, "deleted_at": None, "version": store.version}
        for code, n in PRODUCT_TYPES.items()
    }
    outlets = [o["id"] for o in store.outlets.values()]
    barcodes = itertools.count(1)
    serial = 10000
    for size in _family_plan(store, store.opts.products):
        kind = rng.choice([k for k in ITEMS if k.variant] if size > 1 else ITEMS)
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(kind.materials)} {kind.noun}"
        incl = Decimal(rng.randint(*kind.price_range)) + Decimal(rng.choice(("0", "0.5", "0.9", "0.99")))
        serial += 1
        base_sku = f"{kind.category}{serial}"
        common: dict[str, Any] = {
            "price_including_tax": incl,
            "supply_price": (incl / Decimal("1.15") * Decimal(rng.randint(35, 60)) / 100).quantize(Decimal("0.01")),
            "description": f"<p>{name}, made in Aotearoa.</p>",
            "supplier": rng.choice(suppliers),
            "brand": rng.choice(brands),
            "product_type": types[kind.category],
            "created_at": _ago(store, rng.randint(30, 365)),
        }
        handle = "".join(ch for ch in name.lower() if ch.isalnum()) + str(serial)
        if size == 1:
            store.create_product(
                name,
                base_sku,
                handle=handle,
                has_inventory=rng.random() >= 0.04,
                product_codes=_maybe_barcode(store, barcodes),
                inventory=_levels(store, outlets),
                reorder=_reorder(store, outlets),
                **common,
            )
            continue
        assert kind.variant is not None
        option, values = kind.variant
        parent: Record | None = None
        for value in rng.sample(values, size):
            suffix = COLOUR_CODES.get(value, value)
            product = store.create_product(
                name,
                f"{base_sku}{suffix}",
                handle=handle,
                variant_parent_id=parent["id"] if parent else None,
                variant_options=[{"name": option, "value": value}],
                product_codes=_maybe_barcode(store, barcodes),
                inventory=_levels(store, outlets),
                reorder=_reorder(store, outlets),
                **common,
            )
            parent = parent or product


def _maybe_barcode(store: LightspeedStore, serials: Iterator[int]) -> list[dict[str, str]]:
    """A quarter of products also carry an EAN-13 (prefix 94, New Zealand)."""
    if store.rng.random() >= 0.25:
        return []
    body = f"94{next(serials):010d}"
    odd = sum(int(d) for d in body[0::2])
    even = sum(int(d) for d in body[1::2])
    check = (10 - (odd + 3 * even) % 10) % 10
    return [{"type": "EAN", "code": f"{body}{check}"}]


def _levels(store: LightspeedStore, outlets: list[str]) -> dict[str, Decimal]:
    rng = store.rng
    levels: dict[str, Decimal] = {}
    for outlet_id in outlets:
        roll = rng.random()
        if roll < 0.03:
            levels[outlet_id] = Decimal(-rng.randint(1, 5))  # oversold: levels may be negative
        elif roll < 0.13:
            levels[outlet_id] = Decimal(0)
        else:
            levels[outlet_id] = Decimal(rng.randint(1, 40))
    return levels


def _reorder(store: LightspeedStore, outlets: list[str]) -> dict[str, tuple[Any, Any]]:
    if store.rng.random() >= 0.3:
        return {}
    return {outlet_id: (Decimal(5), Decimal(20)) for outlet_id in outlets}


def _seed_customers(store: LightspeedStore) -> None:
    rng = store.rng
    cities = [o["physical_city"] for o in store.outlets.values()]
    for n in range(store.opts.customers):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = None
        if rng.random() < 0.8:
            email = f"{first}.{last.replace(' ', '')}{n + 1}@example.com".lower()
        store.create_customer(
            first,
            last,
            email=email,
            mobile=f"021 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            physical_city=rng.choice(cities),
            physical_country_id="NZ",
            created_at=_ago(store, rng.randint(1, 500)),
        )


def _seed_sales(store: LightspeedStore) -> None:
    rng = store.rng
    count = store.opts.sales
    if count <= 0:
        return
    outlets = [o["id"] for o in store.outlets.values() if store.registers_of(o["id"])]
    sellable = [p for p in store.products.values() if p["id"] != store.discount_product_id]
    customers = [c["id"] for c in store.customers.values()]
    if not outlets or not sellable:
        return
    ages = sorted((rng.uniform(0.01, 30.0) for _ in range(count)), reverse=True)
    for age in ages:
        lines = [
            {"product_id": rng.choice(sellable)["id"], "quantity": rng.choice((1, 1, 1, 2, 3))}
            for _ in range(rng.randint(1, 3))
        ]
        store.ring_up_sale(
            rng.choice(outlets),
            lines,
            customer_id=rng.choice(customers) if customers and rng.random() < 0.3 else None,
            status=rng.choice(("CLOSED",) * 8 + ("ONACCOUNT_CLOSED", "LAYBY_CLOSED")),
            sale_date=_ago(store, age),
            created_at=_ago(store, age),
        )

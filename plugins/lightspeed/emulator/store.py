"""The emulated store's state: collections, the global version counter and shared indexes.

The operations live in mixins (``products.py``, ``customers.py``, ``sales.py``) so each module
stays small; ``LightspeedStore`` puts them together. Nothing here locks: the emulator holds
``Emulator.lock`` around every call.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from tillbridge.emulation import ScaledClock

from .errors import NotFound
from .options import LightspeedOptions
from .versioned import Record, VersionedCollection

#: ``emit(webhook_type, record)`` is called after a write that a webhook type reports.
EventSink = Callable[[str, Record], None]

#: The collections ``/api/2.0/versions`` reports, in the order it lists them.
VERSIONED_COLLECTIONS = (
    "customers",
    "inventory",
    "outlets",
    "payment_types",
    "products",
    "registers",
    "sales",
    "taxes",
    "users",
)


def iso(moment: datetime) -> str:
    """2.0 timestamps look like ``2014-09-18T01:37:56+00:00``
    (https://x-series-api.lightspeedhq.com/docs/dates_and_times, dates_and_times)."""
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()


class StoreBase:
    def __init__(
        self,
        options: LightspeedOptions,
        new_id: Callable[[], str],
        clock: ScaledClock,
        rng: random.Random,
        emit: EventSink,
    ) -> None:
        self.opts = options
        self.new_id = new_id
        self.clock = clock
        self.rng = rng
        self.emit = emit
        self.version = 0
        self.collections: dict[str, VersionedCollection] = {
            name: VersionedCollection() for name in VERSIONED_COLLECTIONS
        }
        # (product_id, outlet_id) -> inventory record id
        self.inventory_index: dict[tuple[str, str], str] = {}
        # lower-cased product code -> product id (codes are unique across products,
        # https://x-series-api.lightspeedhq.com/changelog/2021-04-support-for-multiple-product-codes)
        self.code_index: dict[str, str] = {}
        # variant parent id -> ids of the other members of its family
        self.family_children: dict[str, list[str]] = {}
        # product id -> tax id (2.0 product reads do not show the tax; sales need it)
        self.product_tax: dict[str, str] = {}
        # sale id -> stock the sale has taken per (product, outlet); voids give it back
        self.sale_taken: dict[str, dict[tuple[str, str], Decimal]] = {}
        # variant attribute name ("Size", "Colour") -> its id, shared by all products
        self.variant_attribute_ids: dict[str, str] = {}
        self.retailer: Record = {}
        self.default_tax_id = ""
        self.no_tax_id = ""
        self.discount_product_id = ""
        self.default_user_id = ""
        self.default_payment_type_id = ""
        self.customer_group_id = ""

    # --- collections ----------------------------------------------------------------------
    @property
    def outlets(self) -> VersionedCollection:
        return self.collections["outlets"]

    @property
    def registers(self) -> VersionedCollection:
        return self.collections["registers"]

    @property
    def taxes(self) -> VersionedCollection:
        return self.collections["taxes"]

    @property
    def users(self) -> VersionedCollection:
        return self.collections["users"]

    @property
    def payment_types(self) -> VersionedCollection:
        return self.collections["payment_types"]

    @property
    def products(self) -> VersionedCollection:
        return self.collections["products"]

    @property
    def inventory(self) -> VersionedCollection:
        return self.collections["inventory"]

    @property
    def customers(self) -> VersionedCollection:
        return self.collections["customers"]

    @property
    def sales(self) -> VersionedCollection:
        return self.collections["sales"]

    # --- versions and time ------------------------------------------------------------------
    def save(self, collection: str, record: Record) -> Record:
        """Store a write: every write of any object takes the next store-wide version
        (https://x-series-api.lightspeedhq.com/docs/pagination)."""
        self.version += 1
        self.collections[collection].put(record, self.version)
        return record

    def now(self) -> str:
        return iso(self.clock.now())

    def versions(self) -> dict[str, int]:
        return {name: coll.max_version() for name, coll in self.collections.items()}

    # --- look-ups shared by the operations ----------------------------------------------------
    def require(self, collection: str, record_id: Any, what: str) -> Record:
        record = self.collections[collection].get(record_id) if isinstance(record_id, str) else None
        if record is None:
            raise NotFound(f"{what} not found")
        return record

    def registers_of(self, outlet_id: str) -> list[Record]:
        return [
            r for r in self.registers.values() if r["outlet_id"] == outlet_id and r.get("deleted_at") is None
        ]

    def active_register_count(self) -> int:
        return sum(1 for r in self.registers.values() if r.get("deleted_at") is None)

    def tax_rate(self, tax_id: str) -> tuple[str, Decimal, Record]:
        """(rate id, rate, tax record) of a tax; each seeded tax has exactly one rate."""
        tax = self.require("taxes", tax_id, "tax")
        rate = tax["rates"][0]
        return rate["id"], rate["rate"], tax

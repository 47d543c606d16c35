"""Everything the emulated Unleashed company holds, plus the few services domain code needs.

Records are kept as dicts keyed by the PascalCase wire field names
(https://apidocs.unleashedsoftware.com/), with Python values (``Decimal``, UTC ``datetime``). Stock is kept
apart from products because Unleashed reports it per product *and* warehouse
(https://apidocs.unleashedsoftware.com/StockOnHand). Callers hold the emulator's lock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable

from .wire import utc_ms

Record = dict[str, Any]
StockKey = tuple[str, str]  # (product Guid, warehouse Guid)

ZERO = Decimal("0")


def row_guid(product_guid: str, warehouse_guid: str) -> str:
    """A stable Guid for one product's stock row in one warehouse (https://apidocs.unleashedsoftware.com/StockOnHand
    rows carry a Guid) [I]."""
    return str(uuid.uuid5(uuid.UUID(product_guid), warehouse_guid))


@dataclass
class Settings:
    """The options domain code reads (set from ``UnleashedEmulator.options``)."""

    base_currency: str = "NZD"
    strict_totals: bool = True
    duplicate_order_post: str = "return_existing"  # or "error"
    # CreatedBy / LastModifiedBy on records written through the API.
    api_user: str = "api.user@tillbridge.example"


@dataclass
class StockLevel:
    """One product in one warehouse. It exists only once stock has moved
    (https://apidocs.unleashedsoftware.com/StockOnHand)."""

    guid: str
    on_hand: Decimal = ZERO
    allocated: Decimal = ZERO
    last_modified: datetime | None = None
    last_sale: datetime | None = None

    @property
    def available(self) -> Decimal:
        # https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction:
        # "Available" = stock on hand - allocated stock.
        return self.on_hand - self.allocated


@dataclass
class Movement:
    """A change of on-hand quantity, kept as a ledger for inspection and debugging."""

    at: datetime
    product_guid: str
    warehouse_guid: str
    delta: Decimal
    reason: str
    reference: str


@dataclass
class UnleashedState:
    now_fn: Callable[[], datetime]
    new_id: Callable[[], str]
    emit: Callable[[str, dict[str, Any]], None]
    settings: Settings = field(default_factory=Settings)

    warehouses: dict[str, Record] = field(default_factory=dict)
    products: dict[str, Record] = field(default_factory=dict)
    customers: dict[str, Record] = field(default_factory=dict)
    boms: dict[str, Record] = field(default_factory=dict)
    orders: dict[str, Record] = field(default_factory=dict)
    invoices: dict[str, Record] = field(default_factory=dict)
    adjustments: dict[str, Record] = field(default_factory=dict)
    taxes: dict[str, Record] = field(default_factory=dict)
    currencies: dict[str, Record] = field(default_factory=dict)
    sales_groups: dict[str, Record] = field(default_factory=dict)
    units: dict[str, Record] = field(default_factory=dict)
    product_groups: dict[str, Record] = field(default_factory=dict)

    stock: dict[StockKey, StockLevel] = field(default_factory=dict)
    ledger: list[Movement] = field(default_factory=list)
    # Allocations an order holds, so completing, editing or deleting it can release them.
    order_allocations: dict[str, dict[StockKey, Decimal]] = field(default_factory=dict)
    # Orders left Parked by a failed completion keep their allocation
    # (https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction).
    allocated_by_completion: set[str] = field(default_factory=set)
    counters: dict[str, int] = field(default_factory=dict)
    # OrderNumber (upper case) -> order Guid: finding a free or clashing number must not scan every
    # order (a scan per create made importing 100,000 POS sales quadratic).
    order_numbers: dict[str, str] = field(default_factory=dict)
    # ProductCode / CustomerCode (upper case) -> Guid, kept by upsert_product / upsert_customer, the
    # only writers: a code look-up (every create checks for a clash) must not scan the catalogue.
    product_codes: dict[str, str] = field(default_factory=dict)
    customer_codes: dict[str, str] = field(default_factory=dict)
    # Bumped by every write a stock listing can show (stock moves and allocations, sales, products,
    # bills of materials), so the pages of one listing can share its rows (stock_on_hand.py).
    revision: int = 0
    stock_listings: dict[tuple[Any, ...], list[Any]] = field(default_factory=dict)
    # Fixed timestamp used instead of the clock while seeding (None = use the clock).
    frozen_now: datetime | None = None

    def now(self) -> datetime:
        return utc_ms(self.frozen_now if self.frozen_now is not None else self.now_fn())

    def settings_user(self) -> str:
        return self.settings.api_user

    def next_number(self, prefix: str, width: int = 8) -> str:
        """``SO-00000001`` style numbers (https://apidocs.unleashedsoftware.com/SalesOrders shows ``SO-00002264``)."""
        n = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = n
        return f"{prefix}-{n:0{width}d}"

    # --- look-ups used everywhere -----------------------------------------------------------
    def level(self, product_guid: str, warehouse_guid: str, *, create: bool = False) -> StockLevel | None:
        key = (product_guid, warehouse_guid)
        level = self.stock.get(key)
        if level is None and create:
            level = self.stock[key] = StockLevel(guid=row_guid(product_guid, warehouse_guid))
            self.revision += 1
        return level

    def default_warehouse(self) -> Record | None:
        for wh in self.warehouses.values():
            if wh["IsDefault"] and not wh["Obsolete"]:
                return wh
        return next(iter(self.warehouses.values()), None)

    def base_currency(self) -> Record:
        return self.currency_by_code(self.settings.base_currency) or next(iter(self.currencies.values()))

    def currency_by_code(self, code: str) -> Record | None:
        for cur in self.currencies.values():
            if cur["CurrencyCode"].upper() == code.upper():
                return cur
        return None

    def bom_for(self, product_guid: str, *, auto_assemble_only: bool = False) -> Record | None:
        """The product's active bill of materials (one per assembled product)."""
        for bom in self.boms.values():
            if bom["Product"]["Guid"] == product_guid and not bom["Obsolete"]:
                if auto_assemble_only and not bom["CanAutoAssemble"]:
                    return None
                return bom
        return None

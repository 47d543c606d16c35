"""Canonical, vendor-neutral entities: what flows between connectors.

Every record a connector fetches is turned into one of these, and every record it pushes is one
of these. Ids are always the ids *of the system the record is addressed to*: a ``Sale`` fetched
from the point of sale carries POS product ids; before it is pushed to the inventory system the
runner rewrites its references (``references`` below) to that system's ids through stored
bindings and the location map. Money is ``Decimal``; timestamps are timezone-aware UTC.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, ClassVar, Literal, Mapping, Self

from pydantic import BaseModel, ConfigDict, field_validator

#: Rewrites one reference: ``(entity_type, id) -> id in the other system`` (raises when unknown).
ReferenceMapper = Callable[[str, str], str]


#: One set per distinct combination of fields given, shared by the records built with it (see
#: :class:`_Shared`). Bounded: past this many combinations a record keeps its own set.
_FIELDS_SETS: dict[frozenset[str], set[str]] = {}
_FIELDS_SETS_MAX = 4096


class _Shared(BaseModel):
    """Records share pydantic's set of the fields they were given instead of each holding one.

    pydantic keeps, on every instance, a ``set`` of the field names given at construction
    (``model_fields_set``): 472 to 728 bytes for a record of 5 to 9 fields, more than the
    record's own ``__dict__`` (272 bytes for a stock level). A stock export gathers 15,000
    levels before a push; sales carry their lines. The records are frozen, and pydantic copies
    the set before changing it (``model_copy``), so one set per combination of fields serves
    every record built with it.
    """

    def model_post_init(self, context: Any, /) -> None:
        _share_fields_set(self)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)
        _share_fields_set(copied)
        return copied


def _share_fields_set(model: BaseModel) -> None:
    own = model.__pydantic_fields_set__
    key = frozenset(own)
    shared = _FIELDS_SETS.get(key)
    if shared is None:
        if len(_FIELDS_SETS) >= _FIELDS_SETS_MAX:
            return
        shared = _FIELDS_SETS.setdefault(key, own)
    object.__setattr__(model, "__pydantic_fields_set__", shared)


def utc(value: datetime) -> datetime:
    """Coerce to an aware UTC datetime (naive values are taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class Entity(_Shared):
    """Base of every canonical record.

    :cvar entity_type: the name flows, bindings and the connection log use (``"product"``).
    :cvar references: fields holding ids of other entities, ``{field: entity_type}``.
    :cvar nested: fields holding tuples of sub-models whose own ``references`` need rewriting.
    :cvar volatile: fields left out of the fingerprint (they change without the record changing).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity_type: ClassVar[str] = ""
    references: ClassVar[dict[str, str]] = {}
    nested: ClassVar[tuple[str, ...]] = ()
    volatile: ClassVar[frozenset[str]] = frozenset({"id", "updated_at", "source_version"})
    #: When set, only these fields count in the fingerprint: the content both systems hold, so a
    #: record written to the other side and read back compares equal.
    fingerprint_fields: ClassVar[frozenset[str] | None] = None

    id: str
    updated_at: datetime | None = None

    @field_validator("updated_at", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return utc(value) if value is not None else None

    @property
    def key(self) -> str:
        """What the connection log shows to identify the record (overridden with a code)."""
        return self.id

    def referenced(self) -> list[tuple[str, str]]:
        """Every ``(entity_type, id)`` this record points at, nested ones included."""
        found = [(etype, getattr(self, f)) for f, etype in self.references.items() if getattr(self, f)]
        for name in self.nested:
            for child in getattr(self, name):
                found.extend(child.referenced())
        return found

    def remap(self, mapper: ReferenceMapper) -> "Entity":
        """A copy whose references are rewritten by ``mapper`` (used between two systems)."""
        changes: dict[str, Any] = {
            f: mapper(etype, getattr(self, f)) for f, etype in self.references.items() if getattr(self, f)
        }
        for name in self.nested:
            changes[name] = tuple(child.remap(mapper) for child in getattr(self, name))
        return self.model_copy(update=changes)

    def fingerprint(self) -> str:
        """A digest of the content (not the ids or timestamps): equal content, equal digest.

        Stored with each binding so that an unchanged record is not written again, and so that
        a record we wrote ourselves is recognised when it comes back (no ping-pong between
        systems).
        """
        if self.fingerprint_fields is not None:
            data = {name: getattr(self, name) for name in sorted(self.fingerprint_fields)}
        else:
            data = {name: getattr(self, name) for name in type(self).model_fields
                    if name not in self.volatile and name not in self.references}
        blob = json.dumps(_normalise(data), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _normalise(value: Any) -> Any:
    """Plain JSON values; equal amounts compare equal however they were written (10 == 10.00)."""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in {"-0", "0"} else text
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, SubRecord):
        return {k: _normalise(getattr(value, k)) for k in type(value).model_fields if k not in value.references}
    if isinstance(value, str):
        return value.strip()
    return value


class SubRecord(_Shared):
    """A part of an entity (a sale line); it may hold references too."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    references: ClassVar[dict[str, str]] = {}

    def referenced(self) -> list[tuple[str, str]]:
        return [(etype, getattr(self, f)) for f, etype in self.references.items() if getattr(self, f)]

    def remap(self, mapper: ReferenceMapper) -> "SubRecord":
        return self.model_copy(
            update={f: mapper(etype, getattr(self, f)) for f, etype in self.references.items() if getattr(self, f)}
        )


class Product(Entity):
    """A sellable or stock item. ``code`` is the SKU / product code both systems match on."""

    entity_type: ClassVar[str] = "product"
    # ``variant_parent_id`` stays in the source system's ids: a parent and its variants arrive in
    # the same page, so rewriting it would hold variants until their parent is bound.

    # What both systems hold about a product; POS-only details (variants, inventory tracking) and
    # inventory-only ones (assembly) do not make a product "changed" for the other side.
    fingerprint_fields: ClassVar[frozenset[str] | None] = frozenset(
        {"code", "description", "sell_price", "notes", "obsolete"})

    code: str
    description: str
    sell_price: Decimal | None = None
    cost_price: Decimal | None = None
    notes: str | None = None
    barcode: str | None = None
    variant_parent_id: str | None = None
    variant_name: str | None = None
    is_assembled: bool = False
    can_auto_assemble: bool = False
    tracks_inventory: bool = True
    obsolete: bool = False

    @property
    def key(self) -> str:
        return self.code


class Customer(Entity):
    entity_type: ClassVar[str] = "customer"
    fingerprint_fields: ClassVar[frozenset[str] | None] = frozenset(
        {"code", "name", "first_name", "last_name", "email", "phone", "obsolete"})

    code: str
    name: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    company_name: str | None = None
    obsolete: bool = False

    @property
    def key(self) -> str:
        return self.code


class Location(Entity):
    """A place stock lives: a POS outlet or an inventory warehouse."""

    entity_type: ClassVar[str] = "location"

    kind: Literal["outlet", "warehouse"]
    name: str
    code: str | None = None

    @property
    def key(self) -> str:
        return self.code or self.name


class Tax(Entity):
    """A tax rate; ``rate`` is a fraction (0.15 for 15 %)."""

    entity_type: ClassVar[str] = "tax"

    code: str
    name: str
    rate: Decimal


class SalesGroup(Entity):
    entity_type: ClassVar[str] = "sales_group"

    name: str
    obsolete: bool = False


class StockLevel(Entity):
    """Stock of one product at one location. ``available`` = on hand − allocated (+ buildable)."""

    entity_type: ClassVar[str] = "stock"
    references: ClassVar[dict[str, str]] = {"product_id": "product", "location_id": "location"}
    # Only what is published matters: on hand and allocated moving together change nothing.
    volatile: ClassVar[frozenset[str]] = Entity.volatile | {"on_hand", "allocated", "product_code", "unit_cost"}

    product_id: str
    location_id: str
    on_hand: Decimal
    allocated: Decimal = Decimal(0)
    available: Decimal
    product_code: str | None = None
    #: What one unit on hand is worth (the POS's average cost): an opening stock's value.
    unit_cost: Decimal | None = None

    @property
    def key(self) -> str:
        return f"{self.product_code or self.product_id}@{self.location_id}"


class BomLine(Entity):
    """One component line of an assembled product's bill of materials."""

    entity_type: ClassVar[str] = "bom"
    references: ClassVar[dict[str, str]] = {"assembly_id": "product", "component_id": "product"}

    assembly_id: str
    component_id: str
    quantity: Decimal
    can_auto_assemble: bool = True


class SaleLine(SubRecord):
    """One line of a sale. Prices are tax-exclusive unit amounts; totals are per line."""

    references: ClassVar[dict[str, str]] = {"product_id": "product"}

    product_id: str
    quantity: Decimal
    unit_price: Decimal
    unit_discount: Decimal = Decimal(0)
    tax_amount: Decimal = Decimal(0)
    tax_rate: Decimal = Decimal(0)
    tax_id: str | None = None
    product_code: str | None = None
    description: str | None = None

    @property
    def line_total(self) -> Decimal:
        """Tax-exclusive total after discount, to the cent."""
        return ((self.unit_price - self.unit_discount) * self.quantity).quantize(Decimal("0.01"))


SaleStatus = Literal["open", "closed", "voided"]


class Sale(Entity):
    """A point-of-sale transaction; becomes a sales order in the inventory system."""

    entity_type: ClassVar[str] = "sale"
    references: ClassVar[dict[str, str]] = {"location_id": "location", "customer_id": "customer"}
    nested: ClassVar[tuple[str, ...]] = ("lines",)

    number: str
    location_id: str
    status: SaleStatus
    sale_date: datetime
    lines: tuple[SaleLine, ...]
    customer_id: str | None = None
    is_return: bool = False
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal
    note: str | None = None
    source_status: str | None = None

    @field_validator("sale_date", mode="after")
    @classmethod
    def _sale_utc(cls, value: datetime) -> datetime:
        return utc(value)

    @property
    def key(self) -> str:
        return self.number


class InvoiceLine(SubRecord):
    product_code: str | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_rate: Decimal = Decimal(0)
    line_total: Decimal
    tax_amount: Decimal
    tax_code: str | None = None
    tax_rate: Decimal = Decimal(0)


class Invoice(Entity):
    """A sales invoice as the inventory system produced it, on its way to accounting.

    ``currency`` (ISO 4217 code) and ``status`` (the producing system's own word, e.g.
    "Completed") have no defaults: only the plugin that reads invoices knows them.
    """

    entity_type: ClassVar[str] = "invoice"
    nested: ClassVar[tuple[str, ...]] = ("lines",)

    number: str
    order_number: str | None = None
    reference: str | None = None
    customer_code: str
    customer_name: str
    invoice_date: datetime
    due_date: datetime | None = None
    currency: str
    lines: tuple[InvoiceLine, ...]
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal
    status: str

    @property
    def key(self) -> str:
        return self.number


ENTITY_TYPES: dict[str, type[Entity]] = {
    cls.entity_type: cls
    for cls in (Product, Customer, Location, Tax, SalesGroup, StockLevel, BomLine, Sale, Invoice)
}

__all__ = [
    "ENTITY_TYPES",
    "BomLine",
    "Customer",
    "Entity",
    "Invoice",
    "InvoiceLine",
    "Location",
    "Product",
    "ReferenceMapper",
    "Sale",
    "SaleLine",
    "SaleStatus",
    "SalesGroup",
    "StockLevel",
    "SubRecord",
    "Tax",
    "utc",
]

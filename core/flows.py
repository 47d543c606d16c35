"""Flows: what moves from the system in one role of a connection to the system in another.

A flow names roles, not vendors, so the engine stays vendor-free: ``products`` moves products from
whatever fills the ``pos`` role to whatever fills ``inventory``. Plugins add flows of their own
(the accounting plugin adds ``invoices``) through ``register_flows``. What a flow needs beyond
fetch and push is declared on it, for a third party's flow as for the core's: the flows it runs
after (``after``), its own step between fetch and push (``prepare``), which records it writes
(``admit``), the stock its held records take (``held_quantities``), the settings that make it
read everything again (``reread_on_settings``), its polling interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, Sequence

from .entities import Entity, Sale
from .errors import ConfigError

if TYPE_CHECKING:
    from .app import App, ConnectionRuntime
    from .connector import Connector
    from .plugins import Plugins
    from .storage.store import Store


@dataclass
class PrepareContext:
    """What a flow's preparation may use during one run: the explicit interface between the
    runner and a :class:`Preparation` (which never reaches into the runner itself)."""

    app: App
    runtime: ConnectionRuntime
    flow: Flow
    source: Connector
    #: the run reads from the start (no cursor, no ``since``): every record of the source comes
    full_read: bool = False
    #: kept for the length of one run (e.g. what the source's other side sold, peeked once)
    state: dict[str, Any] = field(default_factory=dict)
    #: record id → fingerprint compared and stored instead of the record's own; per page
    fingerprints: dict[str, str] = field(default_factory=dict)
    #: the flow's own line for summaries (``"opening stock: 12 products, 3 warehouses"``)
    summary: str | None = None

    @property
    def store(self) -> Store:
        return self.app.store

    @property
    def plugins(self) -> Plugins:
        return self.app.plugins


class Preparation:
    """A flow's own step between fetch and push (``Flow.prepare``); subclass and override.

    ``page`` turns each fetched page into the records to push (fewer is fine: the rest count as
    skipped); ``finish`` yields pages of records the source never reported, pushed after the
    last page of a run that read to the end (the stock export publishes those levels as 0).
    Those pages go through ``page`` like fetched ones, but do not count as read.
    """

    def page(self, context: PrepareContext, records: Sequence[Entity]) -> Sequence[Entity]:
        return records

    def finish(self, context: PrepareContext) -> Iterable[list[Entity]]:
        return ()


@dataclass(frozen=True)
class Flow:
    """One direction of one entity type.

    :param name: unique id, used for cursors, schedules and the log (``"sales"``).
    :param entity_type: what is fetched from the source (and pushed, unless ``target_entity_type``).
    :param source_role: role of the system read (``"pos"``).
    :param target_role: role of the system written (``"inventory"``).
    :param switch: boolean setting that must be on for the flow to run (``None``: always on).
    :param interval_setting: setting that holds the polling interval in seconds.
    :param master_fields: fields that only the master system may overwrite on existing records;
        the ``product_master`` setting decides who the master is.
    :param description: one line for ``tillbridge flows`` and the console.
    :param after: names of flows that run before this one in a sync pass (what it references or
        must see first); see :func:`order_flows`.
    :param prepare: the flow's own step between fetch and push (``None``: records go as read).
    :param interval: the daemon's polling interval (seconds) when ``interval_setting`` is unset.
    :param reread_after: flows whose newly created records make this flow read again from the
        start (levels read before their product existed were skipped).
    :param admit: which fetched records the flow writes: called with each record, returns
        ``None`` (write it), a reason (skip it, logged) or ``False`` (skip it silently: it comes
        back in a later state, like a parked sale). ``None``: every record is written.
    :param held_quantities: what a record the flow holds (an unmapped outlet, an unknown
        product) takes from stock, as (product id, location id, quantity) rows. The runner keeps
        them while the record is held and drops them once it is written or skipped; the stock
        export subtracts them from what it publishes. ``None``: the flow's records take no stock.
    :param reread_on_settings: settings whose change makes the flow read everything again from
        the start (what it writes changed for every record, not only for those changed since).
    """

    name: str
    entity_type: str
    source_role: str
    target_role: str
    switch: str | None = None
    interval_setting: str | None = None
    master_fields: frozenset[str] = frozenset()
    description: str = ""
    after: tuple[str, ...] = ()
    prepare: Preparation | None = None
    interval: float | None = None
    reread_after: tuple[str, ...] = ()
    admit: Callable[[Entity], str | Literal[False] | None] | None = None
    held_quantities: Callable[[Entity], Iterable[tuple[str, str, Decimal]]] | None = None
    reread_on_settings: frozenset[str] = frozenset()


def order_flows(flows: Iterable[Flow]) -> list[Flow]:
    """The flows in a sync pass's order: each after the flows its ``after`` names.

    A stable topological sort: among flows free to go, the core's own keep their declared order
    and the others follow by name. A name in ``after`` that no flow has, or flows waiting for
    each other, is a :class:`ConfigError` naming them.
    """
    core = {f.name: i for i, f in enumerate(CORE_FLOWS)}
    pending = sorted(flows, key=lambda f: (core.get(f.name, len(core)), f.name))
    names = {f.name for f in pending}
    for flow in pending:
        unknown = [n for n in flow.after if n not in names]
        if unknown:
            raise ConfigError(f"flow {flow.name!r} runs after {', '.join(map(repr, unknown))}, which no plugin provides",
                              fix="install the plugin that provides it, or drop it from the flow's `after`")
    done: set[str] = set()
    out: list[Flow] = []
    while pending:
        ready = next((f for f in pending if all(n in done for n in f.after)), None)
        if ready is None:
            stuck = ", ".join(f"{f.name} (after {', '.join(n for n in f.after if n not in done)})" for f in pending)
            raise ConfigError(f"flows wait for each other and cannot be ordered: {stuck}",
                              fix="remove one of the names from the flows' `after` to break the cycle")
        pending.remove(ready)
        done.add(ready.name)
        out.append(ready)
    return out


def admit(record: Entity, flow: Flow) -> str | Literal[False] | None:
    """Should the flow write this record? ``None``: yes. A string: no, logged with that reason.
    ``False``: no, silently (it will come back in a later state). The flow's ``admit`` decides."""
    return flow.admit(record) if flow.admit is not None else None


def admit_sale(record: Entity) -> str | Literal[False] | None:
    """The sales flow's rule: closed sales only; voids and returns are logged and left out."""
    if isinstance(record, Sale):
        if record.status == "open":
            return False
        if record.status == "voided":
            return (f"sale {record.number} was voided: voids are not imported as orders "
                    "(a void of an already imported sale must be reversed in the inventory system)")
        if record.is_return:
            return (f"sale {record.number} is a return: returns are not imported as orders "
                    "(negative quantities are impossible on an invoice; enter a credit note)")
    return None


def line_quantities(record: Entity) -> list[tuple[str, str, Decimal]]:
    """(product id, location id, quantity) per product of a record with ``lines`` (each with
    ``product_id`` and ``quantity``) and a ``location_id``: what a held sale takes from stock."""
    per_product: dict[str, Decimal] = {}
    for line in getattr(record, "lines", ()):
        per_product[line.product_id] = per_product.get(line.product_id, Decimal(0)) + line.quantity
    location = getattr(record, "location_id")
    return [(pid, location, qty) for pid, qty in per_product.items()]


PRODUCT_DETAIL_FIELDS = frozenset({"sell_price", "notes", "description"})


class _StockExport(Preparation):
    """Available quantities, mapped, minus what tills sold meanwhile; unreported levels as 0
    (core/stock.py, imported when first used: it builds on this module)."""

    def page(self, context: PrepareContext, records: Sequence[Entity]) -> Sequence[Entity]:
        from .stock import prepare_stock

        return prepare_stock(context, records)

    def finish(self, context: PrepareContext) -> Iterable[list[Entity]]:
        from .stock import unreported_levels

        return unreported_levels(context)


class _OpeningStock(Preparation):
    """The POS's stock on hand of newly imported products, once (core/opening_stock.py)."""

    def page(self, context: PrepareContext, records: Sequence[Entity]) -> Sequence[Entity]:
        from .opening_stock import prepare_opening_stock

        return prepare_opening_stock(context, records)


#: The core's flows, in the order a sync pass runs them when ``after`` leaves a choice.
CORE_FLOWS: tuple[Flow, ...] = (
    Flow("products", "product", "pos", "inventory", interval_setting="interval_products",
         master_fields=PRODUCT_DETAIL_FIELDS, interval=900.0,
         description="New and changed POS products become inventory products"),
    Flow("opening_stock", "stock", "pos", "inventory", switch="import_opening_stock",
         interval_setting="interval_products", after=("products",), prepare=_OpeningStock(),
         reread_after=("products",),
         description="Stock on hand of newly imported products is taken from the POS once, with its value"),
    Flow("customers", "customer", "pos", "inventory", interval_setting="interval_customers", interval=900.0,
         description="New and changed POS customers become inventory customers"),
    Flow("export_products", "product", "inventory", "pos", switch="export_products",
         interval_setting="interval_products", master_fields=PRODUCT_DETAIL_FIELDS, interval=900.0,
         description="Inventory products are exported to the POS"),
    Flow("export_customers", "customer", "inventory", "pos", switch="export_customers",
         interval_setting="interval_customers", interval=900.0,
         description="Inventory customers are exported to the POS"),
    Flow("sales", "sale", "pos", "inventory", interval_setting="interval_sales", interval=60.0,
         after=("products", "opening_stock", "customers", "export_products", "export_customers"),
         admit=admit_sale, held_quantities=line_quantities,
         description="Closed POS sales become sales orders in the mapped warehouse"),
    Flow("stock", "stock", "inventory", "pos", switch="export_stock", interval_setting="interval_stock",
         interval=60.0, after=("sales", "export_products"), prepare=_StockExport(),
         reread_after=("export_products",), reread_on_settings=frozenset({"export_stock", "include_assembled"}),
         description="Available stock (on hand − allocated) is set on the POS outlets"),
)

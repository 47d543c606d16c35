"""The daily reconciliation: do the POS, the inventory system and the accounting provider agree?

For one trading day (midnight to midnight in the retailer's time zone) and each outlet, it lines up
the POS's closed sales (count, total incl. tax), the inventory system's orders made from them
(count, total; completed and parked) and the accounting provider's invoices (count, total), and
names every difference by sale number with its cause and the action that fixes it.

Vendor-free: the remote systems are asked only for the day (hook ``fetch_dated``, answered by
the connector plugins); why a sale is missing somewhere comes from our own tables (the open
entries of the connection log, the bindings of sales already written).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import select

from .app import App, ConnectionRuntime
from .connector import Connector, DatedRecord
from .errors import ConfigError, SettingError, TillbridgeError
from .storage.models import LogEntry, SyncRun

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

#: The causes a difference can have, in the words the page and the CLI show.
HELD, REFUSED, PARKED, NOT_SENT, TWICE, MISSING, AMOUNT = (
    "held", "refused", "parked", "not yet sent", "sent twice", "missing", "amount differs")
CAUSES = (HELD, REFUSED, PARKED, NOT_SENT, TWICE, MISSING, AMOUNT)


def cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT)


# --- the trading day ------------------------------------------------------------------------------
def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(f"time_zone {name!r} is not a time zone name",
                           fix="use a name like Pacific/Auckland, Europe/London or UTC, or leave it empty "
                               "to use the point of sale's") from None


def day_window(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Midnight to midnight of ``day`` in ``zone``, in UTC (a 23- or 25-hour day at DST changes)."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def trading_zone(rt: ConnectionRuntime, settings: dict[str, Any]) -> tuple[str, str]:
    """(zone name, where it came from): the setting, else the POS's own, else UTC."""
    if settings.get("time_zone"):
        zone_of(str(settings["time_zone"]))
        return str(settings["time_zone"]), "setting"
    if rt.has_role("pos"):
        try:
            found = rt.connector("pos").time_zone()
        except TillbridgeError:
            found = None
        if found:
            try:
                zone_of(found)
                return found, "pos"
            except SettingError:
                pass
    return "UTC", "default"


# --- the report -----------------------------------------------------------------------------------
@dataclass
class Side:
    """One system's view of an outlet's day."""

    count: int = 0
    total: Decimal = ZERO
    completed: int = 0
    parked: int = 0

    def add(self, record: DatedRecord) -> None:
        self.count += 1
        self.total = cents(self.total + record.total)
        if record.status == "completed":
            self.completed += 1
        elif record.status == "parked":
            self.parked += 1


@dataclass
class Difference:
    """A sale that is not the same everywhere: where, why, and what fixes it."""

    sale_number: str
    outlet: str
    system: str  # role whose side differs: inventory | accounting
    cause: str
    detail: str
    action: str
    #: the connection-log record a Re-import retries (``None``: re-importing does not fix it)
    reimport_record: str | None = None
    #: the moment (UTC, ISO) to import sales since, when an import since a date fixes it: the
    #: trading day's start
    import_since: str | None = None
    #: the connection log's own words (with ids), for a details row or a hover
    technical: str | None = None


@dataclass
class OutletDay:
    outlet_id: str
    outlet: str
    warehouse: str | None
    pos: Side = field(default_factory=Side)
    inventory: Side = field(default_factory=Side)
    accounting: Side | None = None
    differences: list[Difference] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return not self.differences


@dataclass
class DayReport:
    connection: str
    day: date
    time_zone: str
    time_zone_source: str
    start: datetime
    end: datetime
    titles: dict[str, str]
    outlets: list[OutletDay] = field(default_factory=list)
    accounting: bool = False
    #: sales of the day not expected anywhere else (voided, returns, still open): number → status
    excluded: dict[str, str] = field(default_factory=dict)
    #: systems that could not be checked, with why
    unchecked: dict[str, str] = field(default_factory=dict)

    @property
    def differences(self) -> list[Difference]:
        return [d for o in self.outlets for d in o.differences]

    @property
    def agrees(self) -> bool:
        return not self.differences and not self.unchecked

    def as_json(self) -> dict[str, Any]:
        def side(s: Side | None) -> dict[str, Any] | None:
            return None if s is None else {"count": s.count, "total": str(s.total), "completed": s.completed,
                                           "parked": s.parked}

        return {
            "connection": self.connection, "date": self.day.isoformat(), "time_zone": self.time_zone,
            "time_zone_source": self.time_zone_source, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "agrees": self.agrees, "accounting": self.accounting, "excluded": self.excluded,
            "unchecked": self.unchecked,
            "outlets": [{"outlet": o.outlet, "outlet_id": o.outlet_id, "warehouse": o.warehouse,
                         "agrees": o.agrees, "pos": side(o.pos), "inventory": side(o.inventory),
                         "accounting": side(o.accounting),
                         "differences": [asdict(d) for d in o.differences]} for o in self.outlets],
        }


# --- reconciling ----------------------------------------------------------------------------------
def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{text!r} is not a date", fix="write the day as YYYY-MM-DD, e.g. 2026-03-01") from None


def _ask(app: App, connector: Connector, entity_type: str, start: datetime, end: datetime,
         references: Sequence[str]) -> list[DatedRecord] | None:
    return app.plugins.fetch_dated(connector, entity_type, start, end, references)


def _accounting_on(app: App, rt: ConnectionRuntime, settings: dict[str, Any]) -> bool:
    if not rt.has_role("accounting"):
        return False
    return any(f.target_role == "accounting" and (not f.switch or settings.get(f.switch))
               for f in app.flows().values())


def reconcile(app: App, name: str, day: date) -> DayReport:
    """Line the three systems up for ``day`` (see the module's docstring)."""
    conn = app.store.connection(name)
    conn_id = conn.id or 0
    settings = app.settings(conn)
    rt = app.runtime(name)
    if not rt.has_role("pos") or not rt.has_role("inventory"):
        raise ConfigError(f"connection {name!r} needs a point of sale and an inventory system to reconcile",
                          fix="connect both on the connection's page first")
    zone_name, source = trading_zone(rt, settings)
    start, end = day_window(day, zone_of(zone_name))
    pos, inventory = rt.connector("pos"), rt.connector("inventory")
    titles = {role: (type(rt.connector(role)).title or rt.system_of(role) or role)
              for role in ("pos", "inventory", "accounting") if rt.has_role(role)}
    report = DayReport(name, day, zone_name, source, start, end, titles)

    sales = _ask(app, pos, "sale", start, end, [])
    if sales is None:
        raise ConfigError(f"{titles['pos']} cannot list the sales of a day",
                          fix="install a version of its plugin that implements the fetch_dated hook")
    closed = [s for s in sales if s.status == "closed"]
    report.excluded = {s.number: s.status for s in sales if s.status != "closed"}
    numbers = [s.number for s in closed]

    orders = _ask(app, inventory, "sales_order", start, end, numbers) if closed else []
    if orders is None:
        report.unchecked["inventory"] = f"{titles['inventory']} cannot list the orders of a day"
        orders = []
    report.accounting = _accounting_on(app, rt, settings)
    invoices: list[DatedRecord] = []
    if report.accounting and closed:
        answered = _ask(app, rt.connector("accounting"), "invoice", start, end, numbers)
        if answered is None:
            report.unchecked["accounting"] = f"{titles['accounting']} cannot list the invoices of a day"
        invoices = answered or []

    orders_of: dict[str, list[DatedRecord]] = defaultdict(list)
    for o in orders:
        orders_of[o.sale_number].append(o)
    invoices_of: dict[str, list[DatedRecord]] = defaultdict(list)
    for i in invoices:
        invoices_of[i.sale_number].append(i)

    # our own tables: why a sale is missing, and whether it was ever written
    open_entries = _open_entries(app, conn_id)
    bound = _bound_sales(app, conn_id, rt, [s.id for s in closed])
    names = {loc.location_id: loc.name for loc in app.store.known_locations(conn_id)}
    mapping = app.store.location_map(conn_id)
    since_accounting = _accounting_since(settings)

    by_outlet: dict[str, OutletDay] = {}
    for sale in sorted(closed, key=lambda s: (s.when or start, s.number)):
        oid = sale.location_id or ""
        outlet = by_outlet.get(oid)
        if outlet is None:
            outlet = by_outlet[oid] = OutletDay(oid, names.get(oid, oid or "no outlet"),
                                                names.get(mapping.get(oid, ""), None),
                                                accounting=Side() if report.accounting else None)
        outlet.pos.add(sale)
        inv = titles["inventory"]
        found = orders_of.get(sale.number, [])
        for order in found:
            outlet.inventory.add(order)
        diff = _order_difference(sale, found, outlet, inv, open_entries.get(("sales", sale.number)),
                                 sale.id in bound, start)
        if diff:
            outlet.differences.append(diff)
        if outlet.accounting is None:
            continue
        sent = [i for i in invoices_of.get(sale.number, []) if i.status == "sent"]
        for invoice in sent:
            outlet.accounting.add(invoice)
        # invoiced when its order completed, unless made before invoices were switched on (the
        # outbox knowing it means the invoice flow took it: then it is expected whatever the date)
        expects_invoice = any(o.status == "completed" for o in found) and (
            bool(invoices_of.get(sale.number)) or since_accounting is None or sale.when is None
            or sale.when >= since_accounting.replace(microsecond=0))
        diff = _invoice_difference(sale, found, invoices_of.get(sale.number, []), outlet, titles, open_entries,
                                   expects_invoice)
        if diff:
            outlet.differences.append(diff)
    report.outlets = sorted(by_outlet.values(), key=lambda o: o.outlet)
    return report


def _order_difference(sale: DatedRecord, orders: list[DatedRecord], outlet: OutletDay, inv: str,
                      entry: LogEntry | None, bound: bool, day_start: datetime) -> Difference | None:
    def diff(cause: str, detail: str, action: str, **extra: Any) -> Difference:
        return Difference(sale.number, outlet.outlet, "inventory", cause, detail, action, **extra)

    if len(orders) > 1:
        keep, *extra = sorted(orders, key=lambda o: o.number)
        others = ", ".join(o.number for o in extra)
        return diff(TWICE, f"sale {sale.number} is in {inv} {len(orders)} times: orders {keep.number}, {others}",
                    f"Delete order{'s' if len(extra) > 1 else ''} {others} in {inv} and keep {keep.number}.")
    if not orders:
        if entry is not None and entry.category == "held":
            why, action = _held_words(entry.message, outlet, inv)
            return diff(HELD, why, action, reimport_record=entry.record_key or sale.number,
                        technical=entry.message)
        if entry is not None:
            return diff(REFUSED, f"{inv} refused it: {entry.message}",
                        "Correct what it says in the sale's products or customer, then press Re-import.",
                        reimport_record=entry.record_key or sale.number)
        if bound:
            return diff(MISSING, f"the order of sale {sale.number} was made but is no longer in {inv} "
                                 "(deleted there, or dated otherwise)",
                        f"Look for it in {inv}; if it was deleted, enter the sale there by hand.")
        return diff(NOT_SENT, f"sale {sale.number} has not been imported into {inv} yet",
                    "Wait for the next sales sync, or import this day's sales now.",
                    import_since=day_start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    order = orders[0]
    if order.status == "parked":
        return diff(PARKED, f"order {order.number} is parked in {inv}: "
                            + (order.note or "it could not be completed (not enough stock)"),
                    f"Complete order {order.number} in {inv} once the stock has arrived.")
    if cents(order.total) != cents(sale.total):
        return diff(AMOUNT, f"sale {sale.number} is {cents(sale.total)} but order {order.number} is "
                            f"{cents(order.total)}",
                    f"Open order {order.number} in {inv} and correct it to the sale's total.")
    return None


def _held_words(message: str, outlet: OutletDay, inv: str) -> tuple[str, str]:
    """Why a sale is held and what to do, in the retailer's words (the log's names ids)."""
    text = message.removeprefix("held: ")
    if "is not mapped" in text:
        return (f"outlet {outlet.outlet} is not mapped to a warehouse of {inv}",
                f"Map outlet {outlet.outlet} to a warehouse on the Configuration page, then press Re-import.")
    kind = text.split(" ", 1)[0] if text.split(" ", 1)[0] in {"product", "customer"} else "product or customer"
    return (f"a {kind} of this sale is not in {inv} yet (new since the last import, or refused by {inv})",
            f"Once the {kind} is in {inv} (the next sync brings new ones over; the connection log says if "
            f"{inv} refused it), press Re-import.")


def _invoice_difference(sale: DatedRecord, orders: list[DatedRecord], invoices: list[DatedRecord],
                        outlet: OutletDay, titles: dict[str, str],
                        open_entries: dict[tuple[str, str], LogEntry], expected: bool) -> Difference | None:
    books = titles.get("accounting", "the accounting system")

    def diff(cause: str, detail: str, action: str, **extra: Any) -> Difference:
        return Difference(sale.number, outlet.outlet, "accounting", cause, detail, action, **extra)

    sent = [i for i in invoices if i.status == "sent"]
    if len(sent) > 1:
        keep, *extra = sorted(sent, key=lambda i: i.number)
        others = ", ".join(i.number for i in extra)
        return diff(TWICE, f"sale {sale.number} is invoiced {len(sent)} times in {books}: {keep.number}, {others}",
                    f"Void invoice{'s' if len(extra) > 1 else ''} {others} in {books} and keep {keep.number}.")
    if sent:
        invoice = sent[0]
        if orders and cents(invoice.total) != cents(sale.total):
            return diff(AMOUNT, f"sale {sale.number} is {cents(sale.total)} but invoice {invoice.number} is "
                                f"{cents(invoice.total)}",
                        f"Compare invoice {invoice.number} in {books} with the sale and correct it.")
        return None
    if not expected:
        return None
    waiting = invoices[0] if invoices else None
    if waiting is not None:
        entry = open_entries.get(("invoices", waiting.number))
        if waiting.status == "failed":
            return diff(REFUSED, f"{books} refused invoice {waiting.number}: {waiting.note or 'no reason given'}",
                        "Correct what it says (account, tax or customer), then press Re-import.",
                        reimport_record=(entry.record_key if entry else None) or waiting.number)
        if waiting.status == "missing":
            return diff(MISSING, f"invoice {waiting.number} was sent but is no longer in {books} "
                                 "(deleted or voided there)",
                        f"Enter invoice {waiting.number} in {books} again by hand if it should be there.")
        return diff(NOT_SENT, f"invoice {waiting.number} waits to be sent ({waiting.status}"
                              + (f": {waiting.note}" if waiting.note else "") + ")",
                    "Wait for the next invoice sync; nothing to do unless it stays.")
    return diff(NOT_SENT, f"the invoice of sale {sale.number} has not reached {books} yet",
                "Wait for the next invoice sync (the inventory system makes the invoice when the order "
                "completes).")


def _open_entries(app: App, conn_id: int) -> dict[tuple[str, str], LogEntry]:
    """(flow, record key) → the open failure or hold of that record."""
    found: dict[tuple[str, str], LogEntry] = {}
    for entry in app.store.log_entries(conn_id, open_only=True, limit=100_000):
        if entry.flow and entry.record_key:
            found.setdefault((entry.flow, entry.record_key), entry)
    return found


def _bound_sales(app: App, conn_id: int, rt: ConnectionRuntime, sale_ids: Sequence[str]) -> set[str]:
    pos, inventory = rt.system_of("pos") or "", rt.system_of("inventory") or ""
    with app.store.session() as s:
        return set(app.store.bindings(s, conn_id, "sale", pos, inventory, list(sale_ids)))


def _accounting_since(settings: dict[str, Any]) -> datetime | None:
    text = settings.get("accounting_since")
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# --- the last 30 days, from our own tables -----------------------------------------------------------
@dataclass
class DayActivity:
    day: date
    moved: dict[str, int] = field(default_factory=dict)  # flow → records created or updated
    failed: dict[str, int] = field(default_factory=dict)  # flow → records failed

    @property
    def total_moved(self) -> int:
        return sum(self.moved.values())

    @property
    def total_failed(self) -> int:
        return sum(self.failed.values())


def daily_activity(app: App, name: str, *, days: int = 30, today: date | None = None,
                   zone: str = "UTC") -> list[DayActivity]:
    """Records moved (created + updated) and failed per day and flow, oldest day first, from the
    runs table (one query, grouped in Python: the same on SQLite and PostgreSQL)."""
    conn_id = app.store.connection(name).id or 0
    tz = zone_of(zone)
    last = today or datetime.now(tz).date()
    first = last - timedelta(days=days - 1)
    start, _ = day_window(first, tz)
    out = {first + timedelta(days=i): DayActivity(first + timedelta(days=i)) for i in range(days)}
    with app.store.session() as s:
        rows = s.exec(select(SyncRun.started_at, SyncRun.flow, SyncRun.created + SyncRun.updated, SyncRun.failed)
                      .where(SyncRun.connection_id == conn_id, SyncRun.started_at >= start))
        for started, flow, moved, failed in rows:
            moment = started if started.tzinfo else started.replace(tzinfo=timezone.utc)
            bucket = out.get(moment.astimezone(tz).date())
            if bucket is None:
                continue
            if moved:
                bucket.moved[flow] = bucket.moved.get(flow, 0) + moved
            if failed:
                bucket.failed[flow] = bucket.failed.get(flow, 0) + failed
    return [out[d] for d in sorted(out)]


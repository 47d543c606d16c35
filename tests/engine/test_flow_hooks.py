"""What a third party's flow declares is what the runner does: its own ``prepare`` in a sync
pass, which records it writes (``admit``), the stock its held records take (``held_quantities``),
the settings that make it read again (``reread_on_settings``)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterable, Iterator, Sequence

import pytest
from cryptography.fernet import Fernet

from tillbridge import (Connector, Flow, Outgoing, Page, Preparation, PrepareContext, Product, PushResult,
                        SettingSpec, hookimpl, line_quantities)
from tillbridge import services
from tillbridge.app import App
from tillbridge.entities import Entity, Sale, SaleLine
from tillbridge.errors import RemoteError
from tillbridge.flows import CORE_FLOWS, admit
from tillbridge.plugins import Plugins
from tillbridge.runner import FlowRunner

KEY = Fernet.generate_key()


class Till(Connector):
    """A POS whose records are given by the test; read two at a time."""

    system = "till"
    roles = frozenset({"pos"})
    reads = frozenset({"product", "sale"})
    writes = frozenset({"product"})
    default_base_url = "http://till.invalid"
    data: dict[str, list[Entity]] = {}
    written: dict[str, Entity] = {}

    def check(self) -> str:
        return "ok"

    def records(self, entity_type: str) -> list[Entity]:
        return list(self.data.get(entity_type, []))

    def fetch(self, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
        start = int(cursor or 0)
        chunk = self.records(entity_type)[start:start + 2]
        return Page(chunk, str(start + len(chunk)), more=bool(chunk))

    def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        out = []
        for o in records:
            out.append(PushResult(o.source_id, "updated" if o.target_id in self.written else "created",
                                  target_id=o.target_id))
            self.written[o.target_id] = o.entity
        return out


class Shelf(Till):
    """The inventory system: reads back what was written to it (under its own ids)."""

    system = "shelf"
    roles = frozenset({"inventory"})
    reads = writes = frozenset({"product", "sale"})
    default_base_url = "http://shelf.invalid"

    def records(self, entity_type: str) -> list[Entity]:
        return [e.model_copy(update={"id": tid}) for tid, e in sorted(self.written.items())]


class Ledger(Till):
    system = "ledger"
    roles = frozenset({"accounting"})
    reads = writes = frozenset({"product"})
    default_base_url = "http://ledger.invalid"


class Labels(Preparation):
    """Records each call; leaves C0 out, marks the rest, and adds one record of its own."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def page(self, context: PrepareContext, records: Sequence[Entity]) -> Sequence[Entity]:
        # what the products flow wrote is already there: this flow runs after it
        self.calls.append(("page", [r.code for r in records]))  # type: ignore[attr-defined]
        return [r.model_copy(update={"description": f"{r.description} (label)"})  # type: ignore[attr-defined]
                for r in records if r.code != "C0"]  # type: ignore[attr-defined]

    def finish(self, context: PrepareContext) -> Iterable[list[Entity]]:
        self.calls.append(("finish", context.full_read))
        context.summary = "labels: 1 of our own"
        yield [Product(id="extra", code="X", description="Extra label")]


def reason_of(record: Entity) -> str | bool | None:
    return OrdersPlugin.verdict


class OrdersPlugin:
    verdict: str | bool | None = None
    labels = Labels()

    @hookimpl
    def register_connectors(self, register):  # type: ignore[no-untyped-def]
        for cls in (Till, Shelf, Ledger):
            register(cls)

    @hookimpl
    def register_settings(self, register):  # type: ignore[no-untyped-def]
        register(SettingSpec("label_width", "int", 40, "How wide a label is.", minimum=1))

    @hookimpl
    def register_flows(self, register):  # type: ignore[no-untyped-def]
        register(Flow("labels", "product", "inventory", "accounting", after=("products",), prepare=self.labels,
                      reread_on_settings=frozenset({"label_width"}), description="Shelf labels"))
        register(Flow("orders", "sale", "pos", "inventory", switch="label_width", admit=reason_of,
                      held_quantities=line_quantities, description="Web orders"))
        register(Flow("bare_orders", "sale", "pos", "inventory", switch="label_width", description="No hold"))


@pytest.fixture
def app(tmp_path) -> Iterator[App]:  # type: ignore[no-untyped-def]
    OrdersPlugin.labels = Labels()
    OrdersPlugin.verdict = None
    Till.data = {"product": [Product(id=f"p{i}", code=f"C{i}", description=f"Item {i}", sell_price=Decimal(i))
                             for i in range(5)]}
    Till.written, Shelf.written, Ledger.written = {}, {}, {}
    app = App(f"sqlite:///{tmp_path / 'h.sqlite'}", plugins=Plugins(extra=[("orders", OrdersPlugin())]),
              secret_key=KEY)
    services.add_connection(app, "m", {"pos": ("till", None), "inventory": ("shelf", None),
                                       "accounting": ("ledger", None)})
    yield app
    app.close()


def test_a_third_party_flow_is_prepared_by_the_runner_in_a_sync(app: App) -> None:
    results = services.sync_once(app, "m", only=["labels", "products"])
    assert [r.flow for r in results] == ["products", "labels"]  # after=("products",)
    labels = results[1]
    prep = OrdersPlugin.labels
    finish = prep.calls.index(("finish", True))  # once, after the last page of a read from the start
    assert [kind for kind, _ in prep.calls].count("finish") == 1
    read = [c for _, codes in prep.calls[:finish] for c in codes]
    assert sorted(read) == ["C0", "C1", "C2", "C3", "C4"]  # what the products flow wrote
    assert prep.calls[finish + 1:] == [("page", ["X"])]  # what finish adds goes through page() too
    pushed = sorted(e.description for e in Ledger.written.values())  # type: ignore[attr-defined]
    assert pushed == ["Extra label (label)", "Item 1 (label)", "Item 2 (label)", "Item 3 (label)", "Item 4 (label)"]
    assert (labels.fetched, labels.created, labels.skipped) == (5, 5, 1)  # the extra is not "read"
    assert labels.summary == "labels: 1 of our own"


def test_what_finish_adds_is_pushed_as_it_gathers_not_held_to_the_end(app: App) -> None:
    """The pages a flow's ``finish`` adds (the stock export's levels never reported: 140,000 at
    100,000 products × 20 outlets) are pushed each time a gather fills, as read pages are; held
    until the end they were the stock export's peak memory."""
    calls: list[list[str]] = []

    def finish(context: PrepareContext) -> Iterator[list[Entity]]:
        for n in range(4):
            yield [Product(id=f"x{n}{i}", code=f"X{n}{i}", description="Extra") for i in range(2)]

    def gather(self: Connector, entity_type: str) -> int:
        return 3

    def push(self: Connector, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        calls.append([o.entity.code for o in records])  # type: ignore[attr-defined]
        return Till.push(self, entity_type, records)

    OrdersPlugin.labels.finish = finish  # type: ignore[method-assign]
    services.sync_once(app, "m", only=["products"])
    Ledger.push_gather = gather  # type: ignore[method-assign]
    Ledger.push = push  # type: ignore[method-assign]
    try:
        result = services.sync_once(app, "m", only=["labels"])[0]
    finally:
        del Ledger.push_gather, Ledger.push  # type: ignore[attr-defined]
    # read: C1 C2 | C3 C4 (C0 left out) → 4 ≥ 3: one push; then the extras, 2 a page: X0 X1 → 4
    # ≥ 3: pushed; X2 X3 → pushed at the end (held to the end, the last push held all 8)
    # read, 2 a page: C0 C1 | C2 C3 (C0 left out: 3 ≥ 3, pushed) | C4; then the extras, 2 a page:
    # C4 + X0 → 3, pushed; X1 X2 → 4, pushed; X3 at the end. (Held to the end, the extras went
    # in one push with C4.)
    assert calls == [["C1", "C2", "C3"], ["C4", "X00", "X01"], ["X10", "X11", "X20", "X21"], ["X30", "X31"]]
    assert (result.created, result.fetched) == (12, 5)


def test_a_settings_change_rereads_the_flows_that_name_it(app: App) -> None:
    services.sync_once(app, "m", only=["labels", "products"])
    conn_id = app.store.connection("m").id or 0
    assert app.store.cursor(conn_id, "labels") and app.store.cursor(conn_id, "products")
    services.set_settings(app, "m", {"label_width": "40"})  # the value it has: nothing to re-read
    assert app.store.cursor(conn_id, "labels")
    services.set_settings(app, "m", {"label_width": "60"})
    assert app.store.cursor(conn_id, "labels") is None
    assert app.store.cursor(conn_id, "products")  # declares nothing about label_width


def sale(number: str, status: str = "closed") -> Sale:
    lines = (SaleLine(product_id="p1", quantity=Decimal(2), unit_price=Decimal(5)),
             SaleLine(product_id="p1", quantity=Decimal(1), unit_price=Decimal(5)),
             SaleLine(product_id="p2", quantity=Decimal(4), unit_price=Decimal(1)))
    return Sale(id=f"s{number}", number=number, location_id="outlet-1", status=status,  # type: ignore[arg-type]
                sale_date=datetime(2026, 1, 1, tzinfo=timezone.utc), lines=lines, subtotal=Decimal(19),
                tax_total=Decimal(0), total=Decimal(19))


def test_held_records_keep_their_quantities_until_written_or_skipped(app: App) -> None:
    Till.data["sale"] = [sale("1"), sale("2")]
    flows = app.flows()
    runner = FlowRunner(app, app.runtime("m"))
    conn_id = app.store.connection("m").id or 0
    first = runner.run(flows["orders"])  # outlet-1 is mapped to no warehouse: held
    assert first.held == 2
    assert app.store.held_quantities(conn_id) == {("p1", "outlet-1"): Decimal(6), ("p2", "outlet-1"): Decimal(8)}
    OrdersPlugin.verdict = "cancelled on the web shop"
    app.store.reset_cursor(conn_id, "orders")
    second = runner.run(flows["orders"])
    assert (second.skipped, second.held) == (2, 0)
    assert app.store.held_quantities(conn_id) == {}  # skipped: they take nothing any more


def test_a_flow_without_held_quantities_holds_none(app: App) -> None:
    Till.data["sale"] = [sale("1")]
    result = FlowRunner(app, app.runtime("m")).run(app.flows()["bare_orders"])
    assert result.held == 1
    assert app.store.held_quantities(app.store.connection("m").id or 0) == {}


def test_admit_is_the_flows_own_rule(app: App) -> None:
    flows = {f.name: f for f in CORE_FLOWS}
    assert admit(sale("1", "open"), flows["sales"]) is False  # parked: it comes back when closed
    assert "voided" in str(admit(sale("1", "voided"), flows["sales"]))
    assert admit(sale("1", "open"), flows["products"]) is None  # no rule: everything goes
    OrdersPlugin.verdict = False
    Till.data["sale"] = [sale("1")]
    result = FlowRunner(app, app.runtime("m")).run(app.flows()["orders"])
    assert (result.skipped, result.held, result.fetched) == (1, 0, 1)
    assert line_quantities(sale("1")) == [("p1", "outlet-1", Decimal(3)), ("p2", "outlet-1", Decimal(4))]


def test_a_target_that_gathers_gets_several_pages_in_one_push_and_each_page_commits(app: App) -> None:
    """``push_gather``: pages of 2 are gathered to 3 records, then pushed together; every page's
    cursor and bindings commit after its push, and a failed push commits none of its pages."""
    Till.data["product"] = [Product(id=f"p{i}", code=f"C{i}", description=f"Item {i}") for i in range(7)]
    calls: list[list[str]] = []
    cursors: list[str | None] = []
    conn_id = app.store.connection("m").id or 0
    fail = {"on": False}

    def gather(self: Connector, entity_type: str) -> int:
        return 3

    def push(self: Connector, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        cursors.append(app.store.cursor(conn_id, "products"))  # what was committed before this push
        if fail["on"]:
            raise RuntimeError("the shelf went away")
        calls.append([o.entity.code for o in records])  # type: ignore[attr-defined]
        return Till.push(self, entity_type, records)

    Shelf.push_gather = gather  # type: ignore[method-assign]
    Shelf.push = push  # type: ignore[method-assign]
    try:
        fail["on"] = True
        runner = FlowRunner(app, app.runtime("m"))
        with pytest.raises(RuntimeError):
            runner.run(app.flows()["products"])
        assert app.store.cursor(conn_id, "products") is None  # the two gathered pages: not committed
        fail["on"] = False
        result = runner.run(app.flows()["products"])
    finally:
        del Shelf.push_gather, Shelf.push  # type: ignore[attr-defined]
    # pages C0 C1 | C2 C3 → 4 ≥ 3: one push; C4 C5 | C6 (the last page): one push
    assert calls == [["C0", "C1", "C2", "C3"], ["C4", "C5", "C6"]]
    assert cursors[1:] == [None, "4"]  # the first two pages committed after their push, not before
    assert app.store.cursor(conn_id, "products") == "7"
    assert (result.created, result.pages) == (7, 5)  # the last look found no more: 5 pages
    again = runner.run(app.flows()["products"])  # nothing changed: nothing written
    assert again.written == 0 and len(calls) == 2


def test_a_source_that_reads_ahead_reads_the_next_page_during_the_push_and_commits_in_order(app: App) -> None:
    """``read_ahead``: the next page is read while the current one is written (before its
    commit), in another thread; pages still commit in order, a failed read of page 3 leaves
    pages 1 and 2 committed, and a stop between pages drops the page read ahead."""
    import threading

    Till.data["product"] = [Product(id=f"p{i}", code=f"C{i}", description=f"Item {i}") for i in range(5)]
    conn_id = app.store.connection("m").id or 0
    reads: list[tuple[str | None, str | None, bool]] = []  # (cursor asked, cursor committed, other thread)
    fail_at = {"cursor": "4"}
    main = threading.get_ident()
    original_fetch = Till.fetch

    def ahead(self: Connector, entity_type: str) -> bool:
        return True

    def fetch(self: Till, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
        reads.append((cursor, app.store.cursor(conn_id, "products"), threading.get_ident() != main))
        if cursor == fail_at["cursor"]:
            raise RemoteError("the till went away")
        return original_fetch(self, entity_type, cursor, since=since)

    read_aside = threading.Event()

    def fetch_and_tell(self: Till, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
        try:
            return fetch(self, entity_type, cursor, since=since)
        finally:
            if threading.get_ident() != main:
                read_aside.set()

    def push(self: Connector, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        # Each push waits for the next page's read: it must come during the push, not after
        # the commit (without read-ahead this waits in vain and the assertions below fail).
        read_aside.wait(timeout=5)
        read_aside.clear()
        return Till.push(self, entity_type, records)

    Till.read_ahead = ahead  # type: ignore[method-assign]
    Till.fetch = fetch_and_tell  # type: ignore[method-assign]
    Shelf.push = push  # type: ignore[method-assign]
    runner = FlowRunner(app, app.runtime("m"))
    try:
        failed = runner.run(app.flows()["products"])
        assert failed.status == "failed" and "the till went away" in (failed.error or "")
        assert app.store.cursor(conn_id, "products") == "4"  # pages 1 and 2 committed, in order
        assert failed.created == 4
        # page 2 was read while page 1 was written (its cursor not committed yet), off the main thread
        assert reads[:3] == [(None, None, False), ("2", None, True), ("4", "2", True)]

        fail_at["cursor"] = None
        reads.clear()
        runner.stop.set()  # stop between pages: the page read ahead is dropped, not committed
        stopped = runner.run(app.flows()["products"])
        assert stopped.pages == 1 and app.store.cursor(conn_id, "products") == "5"
        assert [r[0] for r in reads] == ["4", "5"]  # the page after "5" was read ahead, then dropped
        runner.stop.clear()
        rest = runner.run(app.flows()["products"])
        assert rest.status == "ok" and app.store.cursor(conn_id, "products") == "5"
        assert rest.written == 0
    finally:
        Till.fetch = original_fetch  # type: ignore[method-assign]
        del Till.read_ahead, Shelf.push  # type: ignore[attr-defined]
    assert sorted(o.code for o in Shelf.written.values()) == [f"C{i}" for i in range(5)]  # type: ignore[attr-defined]


def test_a_target_that_writes_side_by_side_gets_the_next_page_before_the_page_before_commits(app: App) -> None:
    """``push_concurrency`` > 1: page 2's writes go while page 1's last write is still out (its
    cursor not committed yet); pages commit in order. A record that comes again in the next page
    (changed between two reads) waits for the first page's commit, so it is sent as an update of
    what that page wrote, never as a second create."""
    import threading

    Till.data["product"] = [Product(id=f"p{i}", code=f"C{i}", description=f"Item {i}") for i in range(5)]
    # pages C0 C1 | C2 C3 | C4 C2: C2 changed between two reads comes again in page 3
    Till.data["product"].append(Product(id="p2", code="C2", description="Item 2, renamed"))
    conn_id = app.store.connection("m").id or 0
    seen: list[tuple[str, bool, str | None]] = []  # (code, exists, cursor committed) per write
    lock = threading.Condition()

    def push(self: Connector, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        code = records[0].entity.code  # type: ignore[attr-defined]
        with lock:
            seen.append((code, records[0].exists, app.store.cursor(conn_id, "products")))
            lock.notify_all()
            if code == "C1":  # page 1's last write: out until page 2's first write has gone
                lock.wait_for(lambda: any(s[0] == "C2" for s in seen), timeout=5)
        return Till.push(self, entity_type, records)

    def one(self: Connector, entity_type: str) -> int:
        return 1

    Shelf.push = push  # type: ignore[method-assign]
    Shelf.push_batch_limit = one  # type: ignore[method-assign]
    Shelf.push_concurrency = 2
    try:
        result = FlowRunner(app, app.runtime("m")).run(app.flows()["products"])
    finally:
        del Shelf.push, Shelf.push_batch_limit, Shelf.push_concurrency  # type: ignore[attr-defined]
    by_code: dict[str, list[tuple[bool, str | None]]] = {}
    for code, exists, cursor in seen:
        by_code.setdefault(code, []).append((exists, cursor))
    assert by_code["C2"][0][1] is None  # page 2 went before page 1 committed
    assert by_code["C2"] == [(False, None), (True, "4")]  # again: once page 2 committed, as an update
    assert app.store.cursor(conn_id, "products") == "6" and result.status == "ok"
    assert (result.created, result.updated) == (5, 1)
    assert sorted(e.description for e in Shelf.written.values()) == [  # type: ignore[attr-defined]
        "Item 0", "Item 1", "Item 2, renamed", "Item 3", "Item 4"]

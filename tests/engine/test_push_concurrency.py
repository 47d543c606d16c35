"""Writes of one page side by side: at most ``push_concurrency`` at once, one lane in sequence,
results in the page's order (functional: counts what is in flight, no timing)."""

from __future__ import annotations

import dataclasses
import threading
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Sequence

import pytest

from tillbridge import Connector, Outgoing, Product, PushResult
from tillbridge.runner import FlowRunner

GATE_SECONDS = 10.0  # only a safety net: the gate opens as soon as the expected writes overlap


class CountingConnector(Connector):
    """Counts pushes in flight; each push waits until ``expect`` are in flight at once (so the test
    proves the runner really overlaps them), then answers."""

    system = "counting"
    writes = frozenset({"product"})

    def __init__(self, concurrency: int, batch: int, expect: int, lanes: bool = False) -> None:
        self.push_concurrency = concurrency
        self.batch = batch
        self.expect = expect
        self.lanes = lanes
        self.cond = threading.Condition()
        self.inflight = 0
        self.most = 0
        self.lane_inflight: dict[str, int] = {}
        self.lane_most: dict[str, int] = {}
        self.arrived: list[str] = []
        self.opened = False

    def push_lane(self, entity_type: str, outgoing: Outgoing) -> str | None:
        return outgoing.entity.code.split("-")[0] if self.lanes else None  # type: ignore[attr-defined]

    def push_batch_limit(self, entity_type: str) -> int:
        return self.batch

    def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        lane = str(self.push_lane(entity_type, records[0]) or "")
        with self.cond:
            self.inflight += 1
            self.most = max(self.most, self.inflight)
            self.lane_inflight[lane] = self.lane_inflight.get(lane, 0) + 1
            self.lane_most[lane] = max(self.lane_most.get(lane, 0), self.lane_inflight[lane])
            self.arrived.extend(o.entity.code for o in records)  # type: ignore[attr-defined]
            if self.inflight >= self.expect:
                self.opened = True
                self.cond.notify_all()
            self.cond.wait_for(lambda: self.opened, timeout=GATE_SECONDS)
        with self.cond:
            self.inflight -= 1
            self.lane_inflight[lane] -= 1
        return [PushResult(o.source_id, "created", target_id=f"t-{o.source_id}") for o in records]


def outgoing(codes: list[str]) -> list[Outgoing]:
    return [Outgoing(entity=Product(id=f"s{n}", code=code, description=code), target_id=f"t{n}", exists=False,
                     source_key=code, source_id=f"s{n}") for n, code in enumerate(codes)]


def push(connector: Connector, records: list[Outgoing]) -> list[PushResult]:
    plugins = SimpleNamespace(push_entities=lambda connector, entity_type, records: connector.push(entity_type, records))
    runner: Any = SimpleNamespace(plugins=plugins)
    return FlowRunner._push(runner, connector, "product", records)


def test_independent_writes_go_side_by_side_up_to_the_limit_and_come_back_in_order() -> None:
    records = outgoing([f"P{n}" for n in range(24)])
    connector = CountingConnector(concurrency=4, batch=2, expect=4)
    results = push(connector, records)
    assert [r.source_id for r in results] == [o.source_id for o in records]
    assert [r.target_id for r in results] == [f"t-{o.source_id}" for o in records]
    assert connector.opened, "the writes never overlapped"
    assert connector.most == 4  # never more than push_concurrency in flight
    assert sorted(connector.arrived) == sorted(o.entity.code for o in records)  # type: ignore[attr-defined]


def test_one_lane_keeps_its_order_while_two_lanes_interleave() -> None:
    codes = [f"{w}-{n}" for n in range(6) for w in ("A", "B")]  # the page alternates warehouses
    records = outgoing(codes)
    connector = CountingConnector(concurrency=4, batch=1, expect=2, lanes=True)
    results = push(connector, records)
    assert [r.source_id for r in results] == [o.source_id for o in records]
    assert connector.opened and connector.most == 2  # the two warehouses side by side...
    assert connector.lane_most == {"A": 1, "B": 1}  # ...and never two of one warehouse at once
    for lane in ("A", "B"):
        assert [c for c in connector.arrived if c.startswith(lane)] == [c for c in codes if c.startswith(lane)]


class MultiLane(CountingConnector):
    """Lanes from the code: "A+B-1" takes lanes A and B."""

    def push_lane(self, entity_type: str, outgoing: Outgoing) -> list[str] | None:
        return outgoing.entity.code.split("-")[0].split("+")  # type: ignore[attr-defined]

    def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        with self.cond:
            mine = set(self.push_lane(entity_type, records[0]) or ())
            clash = [c for c in self.now if mine & set(c.split("-")[0].split("+"))]
            assert not clash, f"{records[0].entity.code} went out beside {clash}"  # type: ignore[attr-defined]
            self.now.add(records[0].entity.code)  # type: ignore[attr-defined]
        try:
            return super().push(entity_type, records)
        finally:
            with self.cond:
                self.now.discard(records[0].entity.code)  # type: ignore[attr-defined]


def test_a_write_with_several_lanes_waits_for_each_and_the_rest_goes_side_by_side() -> None:
    codes = ["A-0", "B-0", "C-0", "A+B-1", "C-1", "D-0", "B-2", "A-3"]
    records = outgoing(codes)
    connector = MultiLane(concurrency=4, batch=1, expect=3)
    connector.now: set[str] = set()  # type: ignore[misc]
    results = push(connector, records)
    assert [r.source_id for r in results] == [o.source_id for o in records]
    assert connector.opened  # A-0, B-0, C-0 (and D-0) went out together
    order = connector.arrived
    for before, after in [("A-0", "A+B-1"), ("B-0", "A+B-1"), ("A+B-1", "B-2"), ("A+B-1", "A-3"), ("C-0", "C-1")]:
        assert order.index(before) < order.index(after), (before, after, order)


def test_a_lane_still_sends_its_writes_in_batches() -> None:
    codes = [f"A-{n}" for n in range(6)] + [f"B-{n}" for n in range(6)]
    connector = CountingConnector(concurrency=4, batch=3, expect=2, lanes=True)
    calls: list[list[str]] = []
    original = connector.push

    def recording(entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        calls.append([o.entity.code for o in records])  # type: ignore[attr-defined]
        return original(entity_type, records)

    connector.push = recording  # type: ignore[method-assign]
    push(connector, outgoing(codes))
    assert sorted(calls) == [["A-0", "A-1", "A-2"], ["A-3", "A-4", "A-5"], ["B-0", "B-1", "B-2"], ["B-3", "B-4", "B-5"]]


def test_a_connector_without_concurrency_gets_one_batch_at_a_time() -> None:
    records = outgoing([f"P{n}" for n in range(10)])
    connector = CountingConnector(concurrency=1, batch=3, expect=1)
    assert Connector.push_concurrency == 1 and Connector.push_lane(connector, "product", records[0]) is None
    results = push(connector, records)
    assert [r.source_id for r in results] == [o.source_id for o in records]
    assert connector.most == 1
    assert connector.arrived == [o.entity.code for o in records]  # type: ignore[attr-defined]


def test_an_error_in_one_batch_is_raised_and_stops_what_has_not_started() -> None:
    """P0 fails while P1 is being written: P1 comes back only once the failing worker is gone
    (it records the error, then ends), so no write starts after the error whatever the timing."""
    failing: list[threading.Thread] = []
    failed = threading.Event()

    class Failing(CountingConnector):
        def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
            if records[0].entity.code == "P0":  # type: ignore[attr-defined]
                failing.append(threading.current_thread())
                failed.set()
                raise RuntimeError("boom")
            answer = super().push(entity_type, records)
            assert failed.wait(GATE_SECONDS)
            failing[0].join(GATE_SECONDS)  # the error is recorded before that worker ends
            return answer

    connector = Failing(concurrency=2, batch=1, expect=1)
    with pytest.raises(RuntimeError, match="boom"):
        push(connector, outgoing([f"P{n}" for n in range(40)]))
    # the write started beside the failing one (if it started before the error): no other
    assert connector.arrived in ([], ["P1"])


def test_unleashed_lanes_sales_orders_by_warehouse_and_reads_its_setting() -> None:
    import httpx

    from tillbridge import BomLine, ConnectorContext, Page, Sale, SaleLine
    from tillbridge_unleashed.connector import UnleashedConnector

    def make(settings: dict[str, Any]) -> UnleashedConnector:
        return UnleashedConnector(ConnectorContext(connection="c", system="unleashed", base_url="http://x",
                                                   credentials={}, save_credentials=lambda c: None,
                                                   settings=settings, http=httpx.Client()))

    connector = make({})
    assert connector.push_concurrency == 4  # Unleashed documents no limit: the conservative default
    assert make({"unleashed_push_concurrency": 2}).push_concurrency == 2

    def sale(warehouse: str, *products: str) -> Outgoing:
        lines = tuple(SaleLine(product_id=p, quantity=Decimal(1), unit_price=Decimal(1)) for p in products)
        return Outgoing(entity=Sale.model_construct(id="s", location_id=warehouse, lines=lines), target_id="t",
                        exists=False, source_key="k", source_id="s")

    kit_reads: list[str] = []

    def fetch(entity_type: str, cursor: Any = None) -> Page:  # one bill of materials: KIT = 2 × C1 + SUB, SUB = C2
        kit_reads.append(entity_type)
        return Page(records=[BomLine(id=f"b{n}", assembly_id=kit, component_id=part, quantity=Decimal(q),
                                     can_auto_assemble=True)
                             for n, (kit, part, q) in enumerate([("KIT", "C1", 2), ("KIT", "SUB", 1), ("SUB", "C2", 1)])],
                    cursor=None, more=False)

    connector.fetch = fetch  # type: ignore[method-assign]
    lanes = lambda *a: set(connector.push_lane("sale", sale(*a)) or ())  # noqa: E731
    assert lanes("W1", "P1", "P2") == {"W1:P1", "W1:P2"}  # a lane per (warehouse, product) it takes
    assert lanes("W1", "P1") & lanes("W1", "P1", "P2")  # the same product in one warehouse: in order
    assert not lanes("W1", "P1") & lanes("W1", "P3")  # other products of the warehouse: side by side
    assert not lanes("W1", "P1") & lanes("W2", "P1")  # the same product elsewhere: side by side
    # a kit would auto-assemble from its components, nested ones too: it shares their lanes
    assert lanes("W1", "KIT") == {"W1:KIT", "W1:C1", "W1:SUB", "W1:C2"}
    assert lanes("W1", "KIT") & lanes("W1", "C2")
    assert kit_reads == ["bom"]  # the bills of materials were read once for all these orders
    connector._never_diminishing.add("SVC")
    assert connector.push_lane("sale", sale("W1", "SVC")) is None  # only non-stock lines: independent
    assert connector.push_lane("product", outgoing(["P"])[0]) is None
    assert connector.push_batch_limit("stock") == connector.push_batch_size  # one on-hand read per 100


def test_lightspeed_sets_the_stock_of_different_products_side_by_side() -> None:
    import httpx

    from tillbridge import ConnectorContext, StockLevel
    from tillbridge_lightspeed.connector import LightspeedConnector

    connector = LightspeedConnector(ConnectorContext(connection="c", system="lightspeed", base_url="http://x",
                                                     credentials={}, save_credentials=lambda c: None,
                                                     settings={"stock_count_threshold": 0}, http=httpx.Client()))
    cond = threading.Condition()
    state = {"inflight": 0, "most": 0}
    sent: list[tuple[str, Any]] = []

    def request(method: str, path: str, **kwargs: Any) -> httpx.Response:
        with cond:
            state["inflight"] += 1
            state["most"] = max(state["most"], state["inflight"])
            sent.append((path, kwargs["json"]))
            cond.notify_all()
            cond.wait_for(lambda: state["most"] >= connector.stock_put_concurrency, timeout=GATE_SECONDS)
            state["inflight"] -= 1
        return httpx.Response(200, json={"data": {}})

    connector.request = request  # type: ignore[method-assign]
    levels = [Outgoing(entity=StockLevel(id=f"p{n}@{o}", product_id=f"p{n}", location_id=o, on_hand=Decimal(n),
                                         available=Decimal(n)), target_id="", exists=True,
                       source_key=f"p{n}@{o}", source_id=f"p{n}@{o}") for n in range(10) for o in ("o1", "o2")]
    results = connector.push("stock", levels)
    assert [r.source_id for r in results] == [o.source_id for o in levels]
    assert all(r.status == "updated" for r in results)
    assert state["most"] == connector.stock_put_concurrency == 4  # 4 products at once, never more
    assert sorted(path for path, _ in sent) == sorted(f"/api/2.1/products/p{n}" for n in range(10))  # one PUT each
    assert all(len(body["details"]["inventory"]) == 2 for _, body in sent)  # with both its outlets


class GatedConnector(Connector):
    """Lanes by the code's prefix ("X-1" → lane "X"); a write whose code is in ``gates`` waits
    until its gate opens; records the order writes arrive in."""

    system = "gated"
    writes = frozenset({"product"})

    def __init__(self, concurrency: int, gates: set[str]) -> None:
        self.push_concurrency = concurrency
        self.gates = {code: threading.Event() for code in gates}
        self.arrived: list[str] = []
        self.lock = threading.Lock()
        self.seen = threading.Condition(self.lock)

    def push_lane(self, entity_type: str, outgoing: Outgoing) -> str:
        return outgoing.entity.code.split("-")[0]  # type: ignore[attr-defined, no-any-return]

    def push_batch_limit(self, entity_type: str) -> int:
        return 1

    def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        code = records[0].entity.code  # type: ignore[attr-defined]
        with self.seen:
            self.arrived.append(code)
            self.seen.notify_all()
        if code in self.gates:
            assert self.gates[code].wait(timeout=GATE_SECONDS), f"{code} was never let through"
        return [PushResult(o.source_id, "created", target_id=f"t-{o.source_id}") for o in records]

    def wait_for(self, *codes: str) -> bool:
        with self.seen:
            return self.seen.wait_for(lambda: set(codes) <= set(self.arrived), timeout=GATE_SECONDS)


def pipeline_for(connector: Connector) -> Any:
    from tillbridge.push import PushPipeline

    plugins: Any = SimpleNamespace(push_entities=lambda connector, entity_type, records: connector.push(entity_type, records))
    return PushPipeline(plugins, connector, "product")


def test_a_later_page_fills_the_free_slots_but_waits_for_the_earlier_pages_writes_of_its_lanes() -> None:
    """Page 2 is handed over while page 1 is still being written: its write on lane Z goes at
    once, its write on lane X waits for page 1's write on X (the POS's order, across pages)."""
    connector = GatedConnector(concurrency=3, gates={"X-1"})
    first = outgoing(["X-1", "Y-1"])
    second = [dataclasses.replace(o, source_id=f"second{n}") for n, o in enumerate(outgoing(["X-2", "Z-1"]))]
    with pipeline_for(connector) as pipeline:
        page1 = pipeline.submit(first)
        assert connector.wait_for("X-1", "Y-1")
        page2 = pipeline.submit(second)
        assert connector.wait_for("Z-1")  # a free slot, while X-1 is still being written
        assert "X-2" not in connector.arrived  # same lane as X-1: waits for it
        assert not page1.finished.is_set()
        connector.gates["X-1"].set()
        assert [r.source_id for r in pipeline.wait(page1)] == ["s0", "s1"]
        assert [r.source_id for r in pipeline.wait(page2)] == ["second0", "second1"]
    assert connector.arrived.index("X-2") > connector.arrived.index("X-1")


def test_an_error_in_a_later_page_leaves_the_earlier_page_written_and_fails_the_later_one() -> None:
    class Failing(GatedConnector):
        def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
            answer = super().push(entity_type, records)
            if records[0].entity.code == "B-1":  # type: ignore[attr-defined]
                raise RuntimeError("boom")
            return answer

    connector = Failing(concurrency=2, gates={"A-1"})
    first, second = outgoing(["A-1"]), outgoing(["B-1", "B-2", "B-3"])
    with pipeline_for(connector) as pipeline:
        page1 = pipeline.submit(first)
        page2 = pipeline.submit(second)
        assert connector.wait_for("B-1")
        connector.gates["A-1"].set()
        assert [r.status for r in pipeline.wait(page1)] == ["created"]  # done before the error ended it
        with pytest.raises(RuntimeError, match="boom"):
            pipeline.wait(page2)
        with pytest.raises(RuntimeError, match="boom"):  # nothing more is taken
            pipeline.submit(outgoing(["C-1"]))
    assert "B-2" not in connector.arrived and "C-1" not in connector.arrived

"""Writes of one page side by side: at most ``push_concurrency`` at once, one lane in sequence,
results in the page's order (functional: counts what is in flight, no timing)."""

from __future__ import annotations

import threading
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
        lane = self.push_lane(entity_type, records[0]) or ""
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


def test_a_connector_without_concurrency_gets_one_batch_at_a_time() -> None:
    records = outgoing([f"P{n}" for n in range(10)])
    connector = CountingConnector(concurrency=1, batch=3, expect=1)
    assert Connector.push_concurrency == 1 and Connector.push_lane(connector, "product", records[0]) is None
    results = push(connector, records)
    assert [r.source_id for r in results] == [o.source_id for o in records]
    assert connector.most == 1
    assert connector.arrived == [o.entity.code for o in records]  # type: ignore[attr-defined]


def test_an_error_in_one_batch_is_raised_and_stops_what_has_not_started() -> None:
    class Failing(CountingConnector):
        def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
            if records[0].entity.code == "P0":  # type: ignore[attr-defined]
                raise RuntimeError("boom")
            return super().push(entity_type, records)

    connector = Failing(concurrency=2, batch=1, expect=1)
    with pytest.raises(RuntimeError, match="boom"):
        push(connector, outgoing([f"P{n}" for n in range(40)]))
    assert len(connector.arrived) < 39  # the rest of the page was not sent


def test_unleashed_lanes_sales_orders_by_warehouse_and_reads_its_setting() -> None:
    import httpx

    from tillbridge import ConnectorContext, Sale
    from tillbridge_unleashed.connector import UnleashedConnector

    def make(settings: dict[str, Any]) -> UnleashedConnector:
        return UnleashedConnector(ConnectorContext(connection="c", system="unleashed", base_url="http://x",
                                                   credentials={}, save_credentials=lambda c: None,
                                                   settings=settings, http=httpx.Client()))

    connector = make({})
    assert connector.push_concurrency == 4  # Unleashed documents no limit: the conservative default
    assert make({"unleashed_push_concurrency": 2}).push_concurrency == 2

    def sale(warehouse: str) -> Outgoing:
        return Outgoing(entity=Sale.model_construct(id="s", location_id=warehouse), target_id="t", exists=False,
                        source_key="k", source_id="s")

    assert connector.push_lane("sale", sale("W1")) == connector.push_lane("sale", sale("W1"))
    assert connector.push_lane("sale", sale("W1")) != connector.push_lane("sale", sale("W2"))
    assert connector.push_lane("product", outgoing(["P"])[0]) is None
    assert connector.push_batch_limit("stock") == connector.push_batch_size  # one on-hand read per 100

"""Flow.after orders a sync pass; Flow.prepare is called between fetch and push."""

from __future__ import annotations

import pytest

from tillbridge.errors import ConfigError
from tillbridge.flows import CORE_FLOWS, Flow, PrepareContext, Preparation, order_flows


def test_core_order_is_todays() -> None:
    assert [f.name for f in order_flows(reversed(CORE_FLOWS))] == [
        "products", "opening_stock", "customers", "export_products", "export_customers", "sales", "stock"]


def test_third_party_flow_runs_after_what_it_names() -> None:
    mine = Flow("aaa_loyalty", "customer", "pos", "inventory", after=("sales",))
    names = [f.name for f in order_flows([*CORE_FLOWS, mine])]
    assert names.index("aaa_loyalty") > names.index("sales")  # not first, though its name sorts first


def test_cycle_names_the_flows() -> None:
    a = Flow("a", "x", "pos", "inventory", after=("b",))
    b = Flow("b", "x", "pos", "inventory", after=("a",))
    with pytest.raises(ConfigError, match=r"a \(after b\).*b \(after a\)"):
        order_flows([a, b])


def test_unknown_name_in_after_is_named() -> None:
    with pytest.raises(ConfigError, match="'a' runs after 'ghost'"):
        order_flows([Flow("a", "x", "pos", "inventory", after=("ghost",))])


def test_prepare_is_called_for_each_page(make_app) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []

    class Halve(Preparation):
        def page(self, context: PrepareContext, records):  # type: ignore[no-untyped-def]
            calls.append(len(records))
            return records[: len(records) // 2]

    prep = Halve()
    assert prep.page(PrepareContext(make_app(), None, CORE_FLOWS[0], None), [1, 2, 3, 4]) == [1, 2]  # type: ignore[arg-type,list-item]
    assert calls == [4] and list(prep.finish(None)) == []  # type: ignore[arg-type]

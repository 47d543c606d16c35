""""Manage your data": import sales since a date, re-import what failed, the log and its retention."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Callable

import pytest
from sqlmodel import update

from tillbridge import ConfigError, services
from tillbridge.storage.models import LogEntry

from .shopkit import Shop


def test_import_sales_since_a_date_starts_from_the_search_endpoint_and_is_idempotent(
        shop_factory: Callable[..., Shop]) -> None:
    shop = shop_factory(ls_options={"products": 10, "customers": 4, "sales": 20})
    shop.map({0: "W1", 1: "W2", 2: "W3"})
    shop.sync("products", "customers")
    ls, ul = shop.ls, shop.ul
    cutoff = ls.clock.now() - timedelta(days=10)
    recent = {s["invoice_number"] for s in ls.sales() if datetime.fromisoformat(s["sale_date"]) >= cutoff}
    assert 0 < len(recent) < 20
    assert {s["status"] for s in ls.sales()} >= {"CLOSED"}

    ls.stats.reset()
    first = services.import_since(shop.app, shop.name, "sale", cutoff)
    assert ls.stats.count("GET /api/2.0/search") == 1  # the starting point, as the docs suggest
    assert (first.created, first.failed, first.held) == (len(recent), 0, 0)
    assert {o["CustomerRef"] for o in ul.sales_orders()} == recent

    again = services.import_since(shop.app, shop.name, "sale", cutoff)
    assert again.created == 0 and again.unchanged == len(recent)
    assert shop.sync("sales")["sales"].created == 0  # the regular flow goes on from the end

    everything = services.import_since(shop.app, shop.name, "sale", cutoff - timedelta(days=40))
    assert everything.created == 20 - len(recent)
    refs = [o["CustomerRef"] for o in ul.sales_orders()]
    assert len(refs) == len(set(refs)) == 20  # ONACCOUNT_CLOSED and LAYBY_CLOSED included

    future = services.import_since(shop.app, shop.name, "sale", ls.clock.now() + timedelta(days=1))
    assert (future.fetched, future.created) == (0, 0)


@pytest.fixture
def troubled(shop_factory: Callable[..., Shop], database_url: str) -> tuple[Shop, dict[str, str]]:
    """One refused product, one sale held at an unmapped outlet, one held for an unknown product
    (on SQLite and on PostgreSQL: the log's retention and re-import queries run on both)."""
    shop = shop_factory(database_url=database_url, ls_options={"products": 6, "customers": 2})
    shop.map({0: "W1", 1: "W2"})  # the third outlet is not mapped
    shop.sync()
    ls = shop.ls
    product = shop.sellable()[0]
    long_code = "LONG-" + "X" * 100  # Unleashed keeps at most 100 characters
    ls.create_product("Too long a code", long_code, Decimal("3.00"))
    unmapped = shop.sell(2, [(product, 1)])
    newcomer = ls.create_product("Newcomer", "NEW-1", Decimal("4.00"))
    unknown = shop.sell(0, [(newcomer, 1)])
    shop.sync("sales")
    shop.sync("products")
    assert {e.record_key for e in shop.open_entries()} == {long_code, unmapped["invoice_number"],
                                                          unknown["invoice_number"]}
    return shop, {"long": long_code, "unmapped": unmapped["invoice_number"], "unknown": unknown["invoice_number"]}


def test_reimport_by_record_entity_and_date(troubled: tuple[Shop, dict[str, str]]) -> None:
    shop, keys = troubled

    [one] = services.reimport(shop.app, shop.name, record=keys["unknown"])
    assert (one.flow, one.created) == ("sales", 1)  # its product has been imported meanwhile
    assert {e.record_key for e in shop.open_entries()} == {keys["long"], keys["unmapped"]}

    [products] = services.reimport(shop.app, shop.name, entity="product")
    assert (products.flow, products.failed) == ("products", 1)
    [entry] = [e for e in shop.open_entries() if e.record_key == keys["long"]]
    assert entry.attempts == 2 and "100" in entry.message + (entry.fix or "")

    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    assert services.reimport(shop.app, shop.name, since=tomorrow) == []
    with pytest.raises(ConfigError, match="no open failure"):
        services.reimport(shop.app, shop.name, record="NO-SUCH-SALE")

    services.map_outlet(shop.app, shop.name, shop.outlet(2)["name"], "W3")
    [sales] = services.reimport(shop.app, shop.name, entity="sale")
    assert sales.created == 1 and shop.ul.sales_orders()[-1]["Warehouse"]["WarehouseCode"] == "W3"
    assert [e.record_key for e in shop.open_entries()] == [keys["long"]]
    assert len(shop.ul.sales_orders()) == 2


def test_log_filters_and_retention_keep_open_failures(troubled: tuple[Shop, dict[str, str]]) -> None:
    shop, keys = troubled
    store = shop.app.store
    assert {e.record_key for e in store.log_entries(shop.conn_id, levels=["error"])} == {keys["long"]}
    assert {e.record_key for e in store.log_entries(shop.conn_id, entity_type="sale")} == {
        keys["unmapped"], keys["unknown"]}
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    assert store.log_entries(shop.conn_id, since=tomorrow) == []

    services.reimport(shop.app, shop.name, record=keys["unknown"])  # resolves one entry
    store.write_log(shop.conn_id, "info", "an old note", flow="sales", category="note")
    with store.session() as s:  # everything happened 100 days ago
        s.exec(update(LogEntry).values(created_at=datetime.now(timezone.utc) - timedelta(days=100)))
        s.commit()
    closed = [e for e in shop.log() if e.resolved_at is not None or e.category not in ("failed", "held")]
    assert len(closed) == 3  # the resolved held sale, its order's "parked" note, the old note
    assert services.prune_log(shop.app, shop.name, days=120) == 0
    removed = services.prune_log(shop.app, shop.name)  # log_retention_days: 90 by default
    assert removed == len(closed)
    assert {e.record_key for e in shop.log()} == {keys["long"], keys["unmapped"]}  # still open, kept

    shop.settings(log_retention_days=7)
    services.map_outlet(shop.app, shop.name, shop.outlet(2)["name"], "W3")
    services.reimport(shop.app, shop.name, entity="sale")
    with store.session() as s:
        s.exec(update(LogEntry).values(created_at=datetime.now(timezone.utc) - timedelta(days=8)))
        s.commit()
    shop.sync("sales")  # every sync applies the retention
    assert {e.record_key for e in shop.log()} == {keys["long"]}

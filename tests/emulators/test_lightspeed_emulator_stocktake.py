"""The Lightspeed emulator's inventory counts (STOCKTAKE consignments) behave as documented:
filters, the 500-item bulk limit, the processing delay, and the warning that an unfiltered count
resets every product not counted to 0
(https://x-series-api.lightspeedhq.com/docs/inventory_creating_inventory_counts)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tillbridge.emulation import BackgroundServer
from tillbridge_lightspeed.emulator import LightspeedEmulator


@pytest.fixture()
def api() -> Iterator[tuple[LightspeedEmulator, httpx.Client]]:
    emulator = LightspeedEmulator(seed=7, options={"products": 12, "customers": 1, "outlets": 2})
    with BackgroundServer(emulator) as server:
        token = emulator.issue_token()["access_token"]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            yield emulator, client
    emulator.close()


def _tracked(emulator: LightspeedEmulator) -> list[str]:
    return [p["id"] for p in emulator.store.products.values() if p["has_inventory"] and not p["is_composite"]]


def _level(emulator: LightspeedEmulator, product_id: str, outlet_id: str) -> Decimal:
    rec = emulator.store.inventory_record(product_id, outlet_id)
    return rec["inventory_level"] if rec else Decimal(0)


def _create(client: httpx.Client, outlet: str, products: list[str] | None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "count", "outlet_id": outlet, "type": "STOCKTAKE",
                            "status": "STOCKTAKE_IN_PROGRESS", **extra}
    if products is not None:
        data["filters"] = [{"type": "product", "value": p} for p in products]
    r = client.post("/api/2.0/consignments", json={"data": data})
    assert r.status_code == 201, r.text
    return r.json()["data"]  # type: ignore[no-any-return]


def _complete(emulator: LightspeedEmulator, client: httpx.Client, c: dict[str, Any]) -> httpx.Response:
    emulator.clock.advance(emulator.opts.stocktake_processing_seconds + 1)
    assert client.get(f"/api/2.0/consignments/{c['id']}").json()["data"]["status"] == "STOCKTAKE_IN_PROGRESS_PROCESSED"
    return client.put(f"/api/2.0/consignments/{c['id']}", json={"data": {
        "name": c["name"], "outlet_id": c["outlet_id"], "type": "STOCKTAKE", "status": "STOCKTAKE_COMPLETE"}})


def test_bulk_refuses_more_than_500_items_and_keeps_none(api: tuple[LightspeedEmulator, httpx.Client]) -> None:
    emulator, client = api
    outlet = next(iter(emulator.store.outlets.values()))["id"]
    pid = _tracked(emulator)[0]
    c = _create(client, outlet, [pid])
    r = client.post(f"/api/2.0/consignments/{c['id']}/bulk", json=[{"product_id": pid, "received": "1"}] * 501)
    assert r.status_code == 400 and r.json()["error"] == "Bad Request" and "500" in r.json()["message"]
    assert client.get(f"/api/2.0/consignments/{c['id']}/products").json()["data"] == []
    # a body off the schema (a number where the spec says string) is refused too
    r = client.post(f"/api/2.0/consignments/{c['id']}/bulk", json=[{"product_id": pid, "received": 1}])
    assert r.status_code == 400 and r.json()["details"]
    ok = client.post(f"/api/2.0/consignments/{c['id']}/bulk", json=[{"product_id": pid, "received": "1"}] * 500)
    assert ok.status_code == 200 and ok.json()["data"][pid]["received"] == "500"  # counts accumulate


def test_filtered_count_sets_only_its_products_after_processing(api: tuple[LightspeedEmulator, httpx.Client]) -> None:
    emulator, client = api
    outlet = next(iter(emulator.store.outlets.values()))["id"]
    a, b, other = _tracked(emulator)[:3]
    before_other = _level(emulator, other, outlet)
    c = _create(client, outlet, [a, b])
    client.post(f"/api/2.0/consignments/{c['id']}/bulk", json=[{"product_id": a, "received": "7"},
                                                               {"product_id": b, "received": "0.5"}])
    early = client.put(f"/api/2.0/consignments/{c['id']}", json={"data": {
        "name": "count", "outlet_id": outlet, "type": "STOCKTAKE", "status": "STOCKTAKE_COMPLETE"}})
    assert early.status_code == 422  # still processing
    assert _complete(emulator, client, c).status_code == 200
    assert (_level(emulator, a, outlet), _level(emulator, b, outlet)) == (Decimal(7), Decimal("0.5"))
    assert _level(emulator, other, outlet) == before_other


def test_unfiltered_count_resets_every_product_not_counted(api: tuple[LightspeedEmulator, httpx.Client]) -> None:
    emulator, client = api
    outlet = next(iter(emulator.store.outlets.values()))["id"]
    tracked = _tracked(emulator)
    for pid in tracked:
        emulator.store.set_inventory(pid, outlet, 9)
    c = _create(client, outlet, None)
    client.post(f"/api/2.0/consignments/{c['id']}/bulk", json=[{"product_id": tracked[0], "received": "3"}])
    assert _complete(emulator, client, c).status_code == 200
    assert _level(emulator, tracked[0], outlet) == 3
    assert all(_level(emulator, pid, outlet) == 0 for pid in tracked[1:])


def test_cancelled_count_changes_nothing(api: tuple[LightspeedEmulator, httpx.Client]) -> None:
    emulator, client = api
    outlet = next(iter(emulator.store.outlets.values()))["id"]
    pid = _tracked(emulator)[0]
    before = _level(emulator, pid, outlet)
    c = _create(client, outlet, [pid], reference="tb-1")
    client.post(f"/api/2.0/consignments/{c['id']}/bulk", json=[{"product_id": pid, "received": "99"}])
    r = client.put(f"/api/2.0/consignments/{c['id']}", json={"data": {
        "name": "count", "outlet_id": outlet, "type": "STOCKTAKE", "status": "CANCELLED"}})
    assert r.json()["data"]["status"] == "CANCELLED"
    emulator.clock.advance(60)
    assert _level(emulator, pid, outlet) == before
    # the count is finished: it cannot be completed any more
    again = client.put(f"/api/2.0/consignments/{c['id']}", json={"data": {
        "name": "count", "outlet_id": outlet, "type": "STOCKTAKE", "status": "STOCKTAKE_COMPLETE"}})
    assert again.status_code == 422

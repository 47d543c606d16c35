"""The demo's figures are true: each flow's counts match the requests the emulators received."""

from __future__ import annotations

from pathlib import Path

import pytest

from tillbridge.demo import run_demo
from tillbridge.runner import RunResult


def test_every_figure_of_the_demo_summary_matches_what_the_emulators_received(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILLBRIDGE_HOME", str(tmp_path))
    report = run_demo(fresh=True, products=40, seed=7)
    runs: dict[tuple[str, str], RunResult] = {(phase, r.flow): r for phase, results in report.phases for r in results}
    ul, ls = report.api_routes["unleashed"], report.api_routes["lightspeed"]
    assert all(r.status == "ok" for r in runs.values())

    products = runs["import", "products"]
    # Each product is one POST /Products/{Guid}; the refused one too; plus the discount product
    # when a sale had a sale-level discount (line discounts are the lines' DiscountRate).
    assert ul["POST /Products/{id}"] - (products.created + products.failed) in (0, 1)
    assert products.failed == len(report.refused) == 1
    customers = runs["import", "customers"]
    assert customers.created + 1 == ul["POST /Customers/{id}"]  # and the walk-in customer
    orders = runs["import", "sales"].created + runs["export", "sales"].created
    parked = runs["import", "sales"].warned + runs["export", "sales"].warned
    # One POST per order, created Completed; one short of stock is created Parked and then
    # completed (which leaves it parked with its stock allocated), after a refused Completed
    # create only where the shortage was not known beforehand.
    assert orders <= ul["POST /SalesOrders/{id}"] <= orders + parked
    assert ul.get("POST /SalesOrders/{id}/Complete", 0) == parked
    # The POS's opening stock was taken in before the sales: one adjustment per level.
    opening = runs["import", "opening_stock"]
    assert opening.created == ul["POST /StockAdjustments/{id}"] > 0
    assert runs["export", "opening_stock"].created == 0  # once
    assert runs["import", "sales"].warned == 0  # the stock had arrived with the products: completed
    assert runs["export", "sales"].warned == 0

    exported = runs["export", "export_products"]
    assert exported.created == ls["POST /api/2.0/products"] == 7  # the kit range, nothing else
    stock = runs["export", "stock"]
    puts = ls["PUT /api/2.1/products/{id}"]
    assert 0 < puts < stock.updated and stock.updated <= 3 * puts  # one request per product, ≤ 3 outlets
    assert runs["export", "export_customers"].written == 0  # every customer came from the POS

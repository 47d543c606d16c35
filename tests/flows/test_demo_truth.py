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
    # Each product is one POST /Products/{Guid}; the refused one too; plus the discount product.
    assert products.created + products.failed + 1 == ul["POST /Products/{id}"]
    assert products.failed == len(report.refused) == 1
    customers = runs["import", "customers"]
    assert customers.created + 1 == ul["POST /Customers/{id}"]  # and the walk-in customer
    orders = runs["import", "sales"].created + runs["export", "sales"].created
    parked = runs["import", "sales"].warned + runs["export", "sales"].warned
    # One POST per order, created Completed; one refused for short stock is created Parked and
    # then completed (which leaves it parked with its stock allocated).
    assert ul["POST /SalesOrders/{id}"] == orders + parked
    assert ul["POST /SalesOrders/{id}/Complete"] == parked
    # Parked for lack of stock is said (as a warning) and counted.
    assert runs["import", "sales"].warned == runs["import", "sales"].created  # no stock had arrived yet
    assert runs["export", "sales"].warned == 0  # stock had arrived: completed

    exported = runs["export", "export_products"]
    assert exported.created == ls["POST /api/2.0/products"] == 7  # the kit range, nothing else
    stock = runs["export", "stock"]
    puts = ls["PUT /api/2.1/products/{id}"]
    assert 0 < puts < stock.updated and stock.updated <= 3 * puts  # one request per product, ≤ 3 outlets
    assert runs["export", "export_customers"].written == 0  # every customer came from the POS

"""`tillbridge demo` and `tillbridge sandbox serve`, as a newcomer runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from tillbridge.demo import run_demo
from tillbridge_unleashed.signing import sign


def test_demo_syncs_every_flow_and_refuses_one_product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILLBRIDGE_HOME", str(tmp_path))
    report = run_demo(fresh=True, products=60)
    assert report.ok
    assert report.products_source == report.products_matching + 1
    assert len(report.refused) == 1 and len(report.refused[0]) > 100
    flows = {r.flow for _, results in report.phases for r in results}
    assert {"products", "customers", "sales", "stock", "export_products", "export_customers"} <= flows
    assert all(r.status == "ok" for _, results in report.phases for r in results)
    assert report.mapped == report.outlets == 3
    assert report.api_calls["lightspeed"] > 0 and report.api_calls["unleashed"] > 0
    # the accounting plugin brings an emulator too: the demo's completed orders reach Xero
    invoices = next(r for phase, results in report.phases for r in results
                    if phase == "export" and r.flow == "invoices")
    assert invoices.status == "ok" and invoices.created > 0


def test_demo_twice_on_the_default_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILLBRIDGE_HOME", str(tmp_path))
    first = run_demo(products=30)
    second = run_demo(products=30)  # starts from a clean slate each time
    assert first.ok and second.ok
    assert (tmp_path / "tillbridge.sqlite").exists()


def test_sandbox_serve_prints_urls_and_working_credentials(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("tillbridge")
    if not script.exists():
        pytest.skip("the tillbridge console script is not installed next to this Python")
    proc = subprocess.Popen([str(script), "sandbox", "serve", "--json", "--for-seconds", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={"TILLBRIDGE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert {"lightspeed", "unleashed", "xero"} <= set(info)
        ls = info["lightspeed"]
        outlets = httpx.get(f"{ls['base_url']}/api/2.0/outlets",
                            headers={"Authorization": f"Bearer {ls['access_token']}"})
        assert outlets.status_code == 200 and outlets.json()["data"]
        # a few past days of till sales are seeded, to import since a date and to reconcile
        since = (datetime.now(timezone.utc) - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
        until = (datetime.now(timezone.utc) - timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
        past = httpx.get(f"{ls['base_url']}/api/2.0/search", params={"type": "sales", "date_from": since,
                                                                    "date_to": until, "page_size": 1000},
                         headers={"Authorization": f"Bearer {ls['access_token']}"}).json()["data"]
        days = {s["sale_date"][:10] for s in past if s["status"] == "CLOSED"}
        assert len(days) >= 2 and {s["outlet_id"] for s in past} == {o["id"] for o in outlets.json()["data"]}
        ul = info["unleashed"]
        warehouses = httpx.get(f"{ul['base_url']}/Warehouses", headers={
            "api-auth-id": ul["api_id"], "api-auth-signature": sign("", ul["api_key"]),
            "Accept": "application/json"})
        assert warehouses.status_code == 200 and warehouses.json()["Items"]
        xero = info["xero"]
        invoices = httpx.get(f"{xero['base_url']}/api.xro/2.0/Invoices", headers={
            "Authorization": f"Bearer {xero['access_token']}", "xero-tenant-id": xero["tenant_id"],
            "Accept": "application/json"})
        assert invoices.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)

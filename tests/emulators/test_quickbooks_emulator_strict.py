"""The QuickBooks emulator refuses what QuickBooks refuses: each write endpoint, against the
fields and types Intuit documents (a wrong type, a value outside its enum, a required field
missing), with QBO's ``Fault`` body, and saves nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .test_quickbooks_emulator import Qbo, invoice_body, start


@pytest.fixture
def qbo() -> Iterator[Qbo]:
    yield from start()


def _fault(response: Any, code: str, element: str) -> dict[str, Any]:
    body = response.json()
    assert "Fault" in body, response.text
    assert set(body) == {"Fault", "time"} and body["Fault"]["type"] == "ValidationFault"
    error = body["Fault"]["Error"][0]
    assert set(error) == {"Message", "Detail", "code", "element"}
    assert (error["code"], error["element"]) == (code, element), error
    if code in ("2010", "2170"):  # the body cannot be read as an invoice at all: a plain 400
        assert response.status_code == 400
    return error


def _bad_invoices(customer_id: str) -> dict[str, tuple[dict[str, Any], str, str]]:
    """case → (body, fault code, element)."""
    def with_line(**changes: Any) -> dict[str, Any]:
        body = invoice_body(customer_id)
        body["Line"][0].update(changes)
        return body

    detail = invoice_body(customer_id)
    detail["Line"][0]["SalesItemLineDetail"]["Qty"] = "3"
    return {
        "wrong type": (with_line(Amount="30.00"), "2010", "Line[0].Amount"),
        "nested wrong type": (detail, "2010", "Line[0].SalesItemLineDetail.Qty"),
        "ref wrong type": (invoice_body(customer_id, CustomerRef=customer_id), "2010", "CustomerRef"),
        "outside enum": (invoice_body(customer_id, GlobalTaxCalculation="TaxIncluded"), "2170",
                         "GlobalTaxCalculation"),
        "line outside enum": (with_line(DetailType="ItemLine"), "2170", "Line[0].DetailType"),
        "required missing": ({k: v for k, v in invoice_body(customer_id).items() if k != "CustomerRef"},
                             "2020", "CustomerRef"),
    }


@pytest.mark.parametrize("case", ["wrong type", "nested wrong type", "ref wrong type", "outside enum",
                                  "line outside enum", "required missing"])
def test_invoice_create_update_and_delete_refuse_a_body_off_the_documented_types(qbo: Qbo, case: str) -> None:
    customer = qbo.customer("Strict Sam")
    existing = qbo.post("/invoice", invoice_body(customer["Id"], DocNumber="S-1")).json()["Invoice"]
    body, code, element = _bad_invoices(customer["Id"])[case]
    _fault(qbo.post("/invoice", body), code, element)  # create
    update = {**body, "Id": existing["Id"], "SyncToken": existing["SyncToken"]}
    _fault(qbo.post("/invoice", update, operation="update"), code, element)
    assert qbo.emulator.invoices()[0]["SyncToken"] == existing["SyncToken"]  # nothing saved
    assert len(qbo.emulator.invoices()) == 1
    deleted = qbo.post("/invoice", {"Id": existing["Id"], "SyncToken": 0}, operation="delete")
    _fault(deleted, "2010", "SyncToken")  # SyncToken is a String
    assert len(qbo.emulator.invoices()) == 1


@pytest.mark.parametrize("case", ["wrong type", "nested wrong type", "outside enum", "too long",
                                  "required missing"])
def test_customer_create_and_update_refuse_a_body_off_the_documented_types(qbo: Qbo, case: str) -> None:
    existing = qbo.customer("Strict Sam")
    bodies: dict[str, tuple[dict[str, Any], str, str]] = {
        "wrong type": ({"DisplayName": "Kiwi Cafe", "Active": "true"}, "2010", "Active"),
        "nested wrong type": ({"DisplayName": "Kiwi Cafe", "PrimaryEmailAddr": "cafe@example.com"}, "2010",
                              "PrimaryEmailAddr"),
        "outside enum": ({"DisplayName": "Kiwi Cafe", "PreferredDeliveryMethod": "Fax"}, "2170",
                         "PreferredDeliveryMethod"),
        "too long": ({"DisplayName": "Kiwi Cafe", "GivenName": "K" * 101}, "2050", "GivenName"),
        "required missing": ({"Notes": "no name at all"}, "6080", "DisplayName"),
    }
    body, code, element = bodies[case]
    _fault(qbo.post("/customer", body), code, element)
    update = {**body, "Id": existing["Id"], "SyncToken": existing["SyncToken"], "sparse": True}
    if case != "required missing":  # a sparse update keeps the name it has
        _fault(qbo.post("/customer", update), code, element)
    assert [c["DisplayName"] for c in qbo.emulator.customers()] == ["Strict Sam"]
    assert qbo.emulator.customers()[0]["SyncToken"] == existing["SyncToken"]


def test_a_body_on_the_documented_types_is_still_accepted(qbo: Qbo) -> None:
    customer = qbo.post("/customer", {"DisplayName": "Kiwi Cafe", "PrimaryEmailAddr": {"Address": "k@example.com"},
                                      "PreferredDeliveryMethod": "Email", "Active": True}).json()["Customer"]
    body = invoice_body(customer["Id"], GlobalTaxCalculation="TaxInclusive", DocNumber="OK-1",
                        BillEmail={"Address": "k@example.com"})
    response = qbo.post("/invoice", body)
    assert response.status_code == 200 and "Fault" not in response.json(), response.text
    assert response.json()["Invoice"]["GlobalTaxCalculation"] == "TaxInclusive"

"""The Xero emulator refuses what Xero refuses: every write endpoint, against xero_accounting.yaml.

Each write endpoint gets a body of the wrong type, a value outside its enum and a required field
missing; each answers 400 ``ValidationException`` in the spec's ``Error`` shape, with the element
echoed back and its ``ValidationErrors``, and saves nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tillbridge_accounting.emulator import xero_schema

from .test_xero_emulator import Xero, start
from .test_xero_emulator_schemas import validate

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "api-specs" / "xero_accounting.yaml"


@pytest.fixture
def xero() -> Iterator[Xero]:
    yield from start()


def test_the_shipped_compact_schema_is_derived_from_the_official_spec() -> None:
    with open(SPEC, encoding="utf-8") as handle:
        fresh = xero_schema.render(xero_schema.derive(yaml.safe_load(handle)))
    shipped = (Path(xero_schema.__file__).parent / xero_schema.SCHEMA_FILE).read_text(encoding="utf-8")
    assert shipped == fresh, "re-derive: python -m tillbridge_accounting.emulator.xero_schema " + str(SPEC)
    compact = xero_schema.schemas()
    assert compact["LineItem"]["properties"]["UnitAmount"]["type"] == "number"
    assert "ACCREC" in compact["Invoice"]["properties"]["Type"]["enum"]


def _refused(response: Any, *words: str) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    validate(body, "xero_accounting.yaml", "Error")
    assert (body["ErrorNumber"], body["Type"]) == (10, "ValidationException")
    messages = [e["Message"] for element in body["Elements"] for e in element["ValidationErrors"]]
    assert any(all(w in m for w in words) for m in messages), messages
    return messages


def _bodies(xero: Xero, contact_id: str) -> dict[str, tuple[dict[str, Any], tuple[str, ...]]]:
    """Bad invoices: wrong type, outside an enum, required missing (with words of the message)."""
    good = xero.invoice_body(contact_id)
    line = good["LineItems"][0]
    return {
        "wrong type": ({**good, "LineItems": [{**line, "UnitAmount": "10.00"}]}, ("UnitAmount", "number")),
        "nested wrong type": ({**good, "Contact": {"ContactID": 42}}, ("Contact.ContactID", "text")),
        "outside enum": ({**good, "LineAmountTypes": "Gross"}, ("Gross",)),
        "currency outside enum": ({**good, "CurrencyCode": "XYZ"}, ("CurrencyCode", "XYZ")),
        "required missing": ({k: v for k, v in good.items() if k != "Type"}, ("Type",)),
    }


@pytest.mark.parametrize("case", ["wrong type", "nested wrong type", "outside enum", "currency outside enum",
                                  "required missing"])
def test_every_invoice_write_endpoint_refuses_a_body_off_the_schema(xero: Xero, case: str) -> None:
    contact_id = xero.contact("Strict Shop")["ContactID"]
    existing = xero.put("/Invoices", {"Invoices": [xero.invoice_body(contact_id)]}).json()["Invoices"][0]
    before = xero.get("/Invoices").json()["Invoices"]
    body, words = _bodies(xero, contact_id)[case]
    _refused(xero.put("/Invoices", {"Invoices": [body]}), *words)
    _refused(xero.post("/Invoices", {"Invoices": [body]}), *words)
    if case != "required missing":  # an update may leave out what the invoice already has
        _refused(xero.post(f"/Invoices/{existing['InvoiceID']}", {"Invoices": [body]}), *words)
    assert xero.get("/Invoices").json()["Invoices"] == before  # nothing saved


@pytest.mark.parametrize("case", ["wrong type", "outside enum", "nested outside enum", "required missing"])
def test_every_contact_write_endpoint_refuses_a_body_off_the_schema(xero: Xero, case: str) -> None:
    existing = xero.contact("Strict Shop")
    bodies: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
        "wrong type": ({"Name": "Kiwi Cafe", "IsCustomer": "yes"}, ("IsCustomer", "true or false")),
        "outside enum": ({"Name": "Kiwi Cafe", "ContactStatus": "SLEEPING"}, ("SLEEPING",)),
        "nested outside enum": ({"Name": "Kiwi Cafe", "Phones": [{"PhoneType": "PAGER", "PhoneNumber": "1"}]},
                                ("Phones[0].PhoneType", "PAGER")),
        "required missing": ({"EmailAddress": "cafe@example.com"}, ("name",)),
    }
    body, words = bodies[case]
    _refused(xero.put("/Contacts", {"Contacts": [body]}), *words)
    _refused(xero.post("/Contacts", {"Contacts": [body]}), *words)
    if case != "required missing":
        _refused(xero.post(f"/Contacts/{existing['ContactID']}", {"Contacts": [body]}), *words)
    names = sorted(c["Name"] for c in xero.get("/Contacts").json()["Contacts"])
    assert "Kiwi Cafe" not in names


def test_a_body_on_the_schema_is_still_accepted_with_numbers_as_json_numbers(xero: Xero) -> None:
    contact_id = xero.contact("Strict Shop", Phones=[{"PhoneType": "MOBILE", "PhoneNumber": "021 1"}])["ContactID"]
    body = xero.invoice_body(contact_id, LineAmountTypes="Inclusive", CurrencyCode="NZD", Status="DRAFT")
    body["LineItems"][0].update(UnitAmount=11.5, Quantity=2, DiscountRate=10)
    response = xero.put("/Invoices", {"Invoices": [body]})
    assert response.status_code == 200, response.text
    assert response.json()["Invoices"][0]["Total"] == 20.7

"""Xero emulator responses checked against Xero's own OpenAPI documents.

The specs (tests/fixtures/api-specs/xero_accounting.yaml, xero-identity.yaml) are OpenAPI 3.0:
schemas are validated as JSON Schema draft 7 with ``$ref`` resolved inside each document,
``nullable: true`` turned into a ``null`` type, and YAML-parsed timestamps turned back into
strings (Xero dates are strings on the wire). Formats are checked for ``uuid`` only: Xero's own
identity example dates carry no offset, so RFC 3339 ``date-time`` checking would reject the real
API too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tillbridge.emulation import BackgroundServer
from tillbridge_accounting.emulator import XeroEmulator

SPECS = Path(__file__).resolve().parents[1] / "fixtures" / "api-specs"
API = "/api.xro/2.0"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _openapi_to_jsonschema(node: Any) -> Any:
    if isinstance(node, dict):
        out = {key: _openapi_to_jsonschema(value) for key, value in node.items()}
        if out.pop("nullable", False) is True and "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        return out
    if isinstance(node, list):
        return [_openapi_to_jsonschema(item) for item in node]
    if isinstance(node, (datetime, date)):
        return node.isoformat()
    return node


@lru_cache(maxsize=None)
def _registry(filename: str) -> Registry:
    with open(SPECS / filename, encoding="utf-8") as handle:
        document = _openapi_to_jsonschema(yaml.load(handle, Loader=_Loader))
    return Registry().with_resource(f"urn:{filename}", Resource(contents=document, specification=DRAFT7))


def validate(instance: Any, filename: str, schema: str, *, array: bool = False) -> None:
    ref = {"$ref": f"urn:{filename}#/components/schemas/{schema}"}
    wrapper = {"type": "array", "items": ref} if array else ref
    validator = jsonschema.Draft7Validator(
        wrapper, registry=_registry(filename), format_checker=jsonschema.FormatChecker(formats=["uuid"])
    )
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


@pytest.fixture
def api() -> Iterator[tuple[XeroEmulator, httpx.Client]]:
    emulator = XeroEmulator()
    with BackgroundServer(emulator) as server:
        token = emulator.issue_token()
        headers = {"Authorization": f"Bearer {token['access_token']}", "xero-tenant-id": token["tenant_id"]}
        with httpx.Client(base_url=server.url, headers=headers) as client:
            yield emulator, client


def _make_invoice(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    contact = client.put(f"{API}/Contacts", json={"Contacts": [{
        "Name": "Schema Shop", "ContactNumber": "LS-1", "FirstName": "Sam", "LastName": "Shop",
        "EmailAddress": "sam@example.com",
        "Addresses": [{"AddressType": "STREET", "City": "Wellington"}],
        "Phones": [{"PhoneType": "MOBILE", "PhoneNumber": "021 555 0101"}],
    }]}).json()["Contacts"][0]
    body = {"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}, "Reference": "POS-77",
            "Status": "AUTHORISED", "DueDate": "2030-02-01", "Date": "2030-01-15",
            "LineItems": [
                {"Description": "Widget", "Quantity": 2, "UnitAmount": 9.99, "AccountCode": "200",
                 "TaxType": "OUTPUT2", "DiscountRate": 5,
                 "Tracking": [{"Name": "Store", "Option": "Wellington"}]},
                {"Description": "Gift wrap", "Quantity": 1, "UnitAmount": 2.5, "AccountCode": "260"},
            ], **fields}
    response = client.put(f"{API}/Invoices", json={"Invoices": [body]})
    assert response.status_code == 200, response.text
    return response.json()


def test_invoice_responses_match_spec(api: tuple[XeroEmulator, httpx.Client]) -> None:
    _, client = api
    created = _make_invoice(client)
    validate(created, "xero_accounting.yaml", "Invoices")
    invoice_id = created["Invoices"][0]["InvoiceID"]
    for response in (
        client.get(f"{API}/Invoices"),
        client.get(f"{API}/Invoices", params={"page": 1}),
        client.get(f"{API}/Invoices/{invoice_id}"),
        client.get(f"{API}/Invoices", params={"summaryOnly": "true"}),
    ):
        assert response.status_code == 200
        body = response.json()
        validate(body, "xero_accounting.yaml", "Invoices")
        assert body["Invoices"], "an empty list would validate trivially"
    paged = client.get(f"{API}/Invoices", params={"page": 1}).json()
    validate(paged["Invoices"][0], "xero_accounting.yaml", "Invoice")
    validate(paged["pagination"], "xero_accounting.yaml", "Pagination")
    for line in paged["Invoices"][0]["LineItems"]:
        validate(line, "xero_accounting.yaml", "LineItem")


def test_per_element_and_error_responses_match_spec(api: tuple[XeroEmulator, httpx.Client]) -> None:
    _, client = api
    _make_invoice(client)
    contact_id = client.get(f"{API}/Contacts").json()["Contacts"][0]["ContactID"]
    good = {"Type": "ACCREC", "Contact": {"ContactID": contact_id},
            "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 1, "AccountCode": "200"}]}
    bad = {**good, "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 1, "AccountCode": "999"}]}
    mixed = client.put(f"{API}/Invoices", params={"summarizeErrors": "false"}, json={"Invoices": [bad, good]})
    assert mixed.status_code == 200
    validate(mixed.json(), "xero_accounting.yaml", "Invoices")
    failed = client.put(f"{API}/Invoices", json={"Invoices": [bad]})
    assert failed.status_code == 400
    validate(failed.json(), "xero_accounting.yaml", "Error")
    contact_clash = client.put(f"{API}/Contacts", json={"Contacts": [{"Name": "Schema Shop"}]})
    assert contact_clash.status_code == 400
    validate(contact_clash.json(), "xero_accounting.yaml", "Error")


def test_contact_account_and_tax_rate_responses_match_spec(api: tuple[XeroEmulator, httpx.Client]) -> None:
    _, client = api
    _make_invoice(client)
    contacts = client.get(f"{API}/Contacts").json()
    assert contacts["Contacts"][0]["IsCustomer"] is True
    validate(contacts, "xero_accounting.yaml", "Contacts")
    validate(contacts["Contacts"][0], "xero_accounting.yaml", "Contact")
    accounts = client.get(f"{API}/Accounts").json()
    validate(accounts, "xero_accounting.yaml", "Accounts")
    for account in accounts["Accounts"]:
        validate(account, "xero_accounting.yaml", "Account")
    rates = client.get(f"{API}/TaxRates").json()
    validate(rates, "xero_accounting.yaml", "TaxRates")
    for rate in rates["TaxRates"]:
        validate(rate, "xero_accounting.yaml", "TaxRate")


def test_connections_match_identity_spec(api: tuple[XeroEmulator, httpx.Client]) -> None:
    emulator, client = api
    connections = client.get("/connections").json()
    assert len(connections) == 1
    validate(connections, "xero-identity.yaml", "Connection", array=True)
    assert set(connections[0]) == {"id", "authEventId", "tenantId", "tenantType", "tenantName",
                                   "createdDateUtc", "updatedDateUtc"}
    # The spec's own path spelling answers too.
    assert client.get("/Connections").json() == connections


def test_token_response_matches_identity_spec(api: tuple[XeroEmulator, httpx.Client]) -> None:
    emulator, client = api
    token = emulator.issue_token()
    refreshed = client.post("/connect/token", data={"grant_type": "refresh_token",
                                                    "refresh_token": token["refresh_token"]},
                            auth=(emulator.settings.client_id, emulator.settings.client_secret),
                            headers={"Authorization": ""})
    assert refreshed.status_code == 200, refreshed.text
    validate(refreshed.json(), "xero-identity.yaml", "AccessToken")


def test_validator_rejects_a_wrong_shape() -> None:
    """The schema check is not vacuous: a wrong type or a bad enum value fails it."""
    with pytest.raises(AssertionError):
        validate({"Invoices": [{"Total": "63.83"}]}, "xero_accounting.yaml", "Invoices")
    with pytest.raises(AssertionError):
        validate({"Invoices": [{"Type": "SALE"}]}, "xero_accounting.yaml", "Invoices")
    with pytest.raises(AssertionError):
        validate([{"tenantId": "not-a-uuid"}], "xero-identity.yaml", "Connection", array=True)

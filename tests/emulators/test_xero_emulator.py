"""The Xero emulator seen through plain httpx, the way a client following Xero's docs talks to it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tillbridge.emulation import BackgroundServer
from tillbridge_accounting.emulator import consent
from tillbridge_accounting.emulator import XeroEmulator

CLIENT = ("tillbridge-xero-demo", "demo-xero-secret")
REDIRECT = "http://localhost:8765/callback"
SCOPE = "openid profile email offline_access accounting.transactions accounting.contacts accounting.settings"
API = "/api.xro/2.0"


class Xero:
    """A running emulator plus an httpx client already holding a token and tenant header."""

    def __init__(self, emulator: XeroEmulator, server: BackgroundServer) -> None:
        self.emulator = emulator
        self.http = httpx.Client(base_url=server.url, follow_redirects=False)
        token = emulator.issue_token()
        self.tenant_id = token["tenant_id"]
        self.headers = {"Authorization": f"Bearer {token['access_token']}", "xero-tenant-id": self.tenant_id}

    def put(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.http.put(API + path, json=body, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.http.post(API + path, json=body, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(API + path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def contact(self, name: str, **fields: Any) -> dict[str, Any]:
        response = self.put("/Contacts", {"Contacts": [{"Name": name, **fields}]})
        assert response.status_code == 200, response.text
        return response.json()["Contacts"][0]

    def invoice_body(self, contact_id: str, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact_id},
            "LineItems": [{"Description": "Sale", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200",
                           "TaxType": "OUTPUT2"}],
        }
        body.update(fields)
        return body


def start(options: dict[str, Any] | None = None, time_scale: float = 1.0) -> Iterator[Xero]:
    emulator = XeroEmulator(options=options or {}, time_scale=time_scale)
    with BackgroundServer(emulator) as server:
        client = Xero(emulator, server)
        try:
            yield client
        finally:
            client.http.close()


@pytest.fixture
def xero() -> Iterator[Xero]:
    yield from start()


def authorise(http: httpx.Client, **overrides: str) -> httpx.Response:
    params = {"response_type": "code", "client_id": CLIENT[0], "redirect_uri": REDIRECT, "scope": SCOPE,
              "state": "s-123"}
    params.update(overrides)
    response = http.get("/identity/connect/authorize", params=params)
    if response.status_code == 200:  # the consent page: the person logs in and allows access
        return consent.submit(http, response)
    return response


def code_from(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return query["code"][0]


def exchange(http: httpx.Client, code: str) -> httpx.Response:
    return http.post("/connect/token", data={"grant_type": "authorization_code", "code": code,
                                             "redirect_uri": REDIRECT}, auth=CLIENT)


def refresh(http: httpx.Client, token: str) -> httpx.Response:
    return http.post("/connect/token", data={"grant_type": "refresh_token", "refresh_token": token}, auth=CLIENT)


# --- OAuth ---------------------------------------------------------------------------------------


def test_code_flow_gives_tokens_and_connections(xero: Xero) -> None:
    redirect = authorise(xero.http)
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    assert parse_qs(location.query)["state"] == ["s-123"]

    token = exchange(xero.http, code_from(redirect))
    assert token.status_code == 200
    body = token.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800
    assert body["refresh_token"] and body["access_token"].count(".") == 2
    assert set(body["scope"].split()) == set(SCOPE.split())

    connections = xero.http.get("/connections", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert connections.status_code == 200
    [connection] = connections.json()
    assert connection["tenantId"] == xero.emulator.tenant_id()
    assert connection["tenantType"] == "ORGANISATION"
    assert connection["tenantName"] == "Demo Retail Ltd"


def test_code_is_single_use_and_client_must_authenticate(xero: Xero) -> None:
    code = code_from(authorise(xero.http))
    wrong = xero.http.post("/connect/token", data={"grant_type": "authorization_code", "code": code,
                                                   "redirect_uri": REDIRECT}, auth=(CLIENT[0], "nope"))
    assert wrong.status_code == 401 and wrong.json() == {"error": "invalid_client"}
    # Client credentials in the form body are accepted too.
    ok = xero.http.post("/connect/token", data={"grant_type": "authorization_code", "code": code,
                                                "redirect_uri": REDIRECT, "client_id": CLIENT[0],
                                                "client_secret": CLIENT[1]})
    assert ok.status_code == 200
    again = exchange(xero.http, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_authorize_refuses_unknown_client_and_foreign_redirect(xero: Xero) -> None:
    assert authorise(xero.http, client_id="someone-else").status_code == 400
    assert authorise(xero.http, redirect_uri="https://evil.example/cb").status_code == 400
    bad_type = authorise(xero.http, response_type="token")
    assert parse_qs(urlsplit(bad_type.headers["location"]).query)["error"] == ["unsupported_response_type"]


def test_no_refresh_token_without_offline_access(xero: Xero) -> None:
    body = exchange(xero.http, code_from(authorise(xero.http, scope="accounting.transactions"))).json()
    assert "refresh_token" not in body and body["access_token"]


def test_refresh_rotates_and_old_token_dies_after_grace(xero: Xero) -> None:
    first = exchange(xero.http, code_from(authorise(xero.http))).json()
    second = refresh(xero.http, first["refresh_token"])
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["access_token"] != first["access_token"]

    xero.emulator.clock.advance(1700)  # inside the 30-minute grace
    assert refresh(xero.http, first["refresh_token"]).status_code == 200
    xero.emulator.clock.advance(200)  # 1900 s after the first rotation
    stale = refresh(xero.http, first["refresh_token"])
    assert stale.status_code == 400 and stale.json() == {"error": "invalid_grant"}
    assert refresh(xero.http, rotated["refresh_token"]).status_code == 200


def test_unused_refresh_token_expires_after_60_days(xero: Xero) -> None:
    first = exchange(xero.http, code_from(authorise(xero.http))).json()
    xero.emulator.clock.advance(60 * 86_400 + 1)
    assert refresh(xero.http, first["refresh_token"]).json() == {"error": "invalid_grant"}


def test_pkce_flow_needs_the_verifier(xero: Xero) -> None:
    import base64
    import hashlib

    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = code_from(authorise(xero.http, code_challenge=challenge, code_challenge_method="S256"))
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": CLIENT[0]}
    assert xero.http.post("/connect/token", data={**form, "code_verifier": "wrong" * 10}).status_code == 400
    code = code_from(authorise(xero.http, code_challenge=challenge, code_challenge_method="S256"))
    ok = xero.http.post("/connect/token", data={**form, "code": code, "code_verifier": verifier})
    assert ok.status_code == 200 and ok.json()["access_token"]


def test_access_token_expires_after_30_minutes(xero: Xero) -> None:
    assert xero.get("/Invoices").status_code == 200
    xero.emulator.clock.advance(1801)
    expired = xero.get("/Invoices")
    assert expired.status_code == 401
    assert expired.json()["Detail"].startswith("TokenExpired")


def test_api_needs_bearer_and_known_tenant(xero: Xero) -> None:
    no_token = xero.http.get(API + "/Invoices", headers={"xero-tenant-id": xero.tenant_id})
    assert no_token.status_code == 401
    assert no_token.json()["Detail"] == "AuthenticationUnsuccessful"
    no_tenant = xero.http.get(API + "/Invoices", headers={"Authorization": xero.headers["Authorization"]})
    assert no_tenant.status_code == 403
    assert no_tenant.json()["Title"] == "Forbidden"
    unknown = xero.get("/Invoices", headers={"xero-tenant-id": "11111111-1111-4111-8111-111111111111"})
    assert unknown.status_code == 403


def test_disconnecting_a_tenant_and_revoking_tokens(xero: Xero) -> None:
    auth = {"Authorization": xero.headers["Authorization"]}
    [connection] = xero.http.get("/connections", headers=auth).json()
    assert xero.http.delete(f"/connections/{connection['id']}", headers=auth).status_code == 204
    assert xero.get("/Invoices").status_code == 403
    assert xero.http.delete(f"/connections/{connection['id']}", headers=auth).status_code == 404

    xero.emulator.revoke_all_tokens()
    assert xero.http.get("/connections", headers=auth).status_code == 401


def test_revocation_endpoint_kills_refresh_token_and_connections(xero: Xero) -> None:
    tokens = exchange(xero.http, code_from(authorise(xero.http))).json()
    revoked = xero.http.post("/connect/revocation", data={"token": tokens["refresh_token"]}, auth=CLIENT)
    assert revoked.status_code == 200
    assert refresh(xero.http, tokens["refresh_token"]).json() == {"error": "invalid_grant"}
    assert xero.get("/Invoices").status_code == 403  # the organisation is no longer connected


def test_missing_scope_is_forbidden(xero: Xero) -> None:
    token = exchange(xero.http, code_from(authorise(xero.http, scope="offline_access accounting.transactions"))).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert xero.get("/Contacts", headers=headers).status_code == 403
    assert xero.get("/Invoices", headers=headers).status_code == 200


# --- invoices ------------------------------------------------------------------------------------


def test_create_invoice_computes_totals_and_numbers(xero: Xero) -> None:
    contact = xero.contact("Walk-in Customer")
    body = {"Invoices": [
        xero.invoice_body(contact["ContactID"], Reference="SALE-1", LineItems=[
            {"Description": "Mug", "Quantity": 3, "UnitAmount": 12.50, "AccountCode": "200", "TaxType": "OUTPUT2"},
            {"Description": "Card", "Quantity": 2, "UnitAmount": 10, "DiscountRate": 10, "AccountCode": "200",
             "TaxType": "OUTPUT2"},
        ]),
        xero.invoice_body(contact["ContactID"], LineAmountTypes="Inclusive", LineItems=[
            {"Description": "Tea", "Quantity": 1, "UnitAmount": 23, "AccountCode": "200", "TaxType": "OUTPUT2"},
        ]),
    ]}
    response = xero.put("/Invoices", body)
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["Status"] == "OK" and envelope["ProviderName"] and envelope["DateTimeUTC"].startswith("/Date(")
    exclusive, inclusive = envelope["Invoices"]

    assert [line["LineAmount"] for line in exclusive["LineItems"]] == [37.5, 18.0]
    assert [line["TaxAmount"] for line in exclusive["LineItems"]] == [5.63, 2.7]
    assert exclusive["SubTotal"] == 55.5
    assert exclusive["TotalTax"] == 8.33
    assert exclusive["Total"] == 63.83
    assert exclusive["AmountDue"] == 63.83
    assert exclusive["TotalDiscount"] == 2.0
    assert exclusive["InvoiceNumber"] == "INV-0001"
    assert exclusive["Status"] == "DRAFT"
    assert exclusive["Date"].startswith("/Date(") and exclusive["Date"].endswith("+0000)/")
    assert exclusive["DateString"].endswith("T00:00:00")

    assert inclusive["InvoiceNumber"] == "INV-0002"
    assert inclusive["Total"] == 23.0
    assert inclusive["TotalTax"] == 3.0
    assert inclusive["SubTotal"] == 20.0

    stored = xero.get(f"/Invoices/{exclusive['InvoiceID']}").json()["Invoices"][0]
    assert stored["Total"] == 63.83 and stored["Reference"] == "SALE-1"
    assert xero.emulator.invoices()[0]["SourceApp"] == CLIENT[0]


def test_single_invoice_object_without_envelope_and_notax(xero: Xero) -> None:
    contact = xero.contact("Alice")
    response = xero.put("/Invoices", xero.invoice_body(contact["ContactID"], LineAmountTypes="NoTax"))
    assert response.status_code == 200
    [invoice] = response.json()["Invoices"]
    assert invoice["TotalTax"] == 0.0 and invoice["Total"] == 10.0


def test_invoice_number_must_be_unique(xero: Xero) -> None:
    contact = xero.contact("Bob")
    assert xero.put("/Invoices", xero.invoice_body(contact["ContactID"], InvoiceNumber="LS-100")).status_code == 200
    clash = xero.put("/Invoices", xero.invoice_body(contact["ContactID"], InvoiceNumber="LS-100"))
    assert clash.status_code == 400
    assert clash.json()["Elements"][0]["ValidationErrors"] == [{"Message": "Invoice # must be unique."}]
    # Auto-numbering skips numbers already taken by hand.
    assert xero.put("/Invoices", xero.invoice_body(contact["ContactID"], InvoiceNumber="INV-0001")).status_code == 200
    auto = xero.put("/Invoices", xero.invoice_body(contact["ContactID"])).json()["Invoices"][0]
    assert auto["InvoiceNumber"] == "INV-0002"


def test_validation_exception_shape_for_unknown_account_code(xero: Xero) -> None:
    contact = xero.contact("Carol")
    body = xero.invoice_body(contact["ContactID"])
    body["LineItems"][0]["AccountCode"] = "999"
    response = xero.put("/Invoices", {"Invoices": [body]})
    assert response.status_code == 400
    error = response.json()
    assert error["ErrorNumber"] == 10
    assert error["Type"] == "ValidationException"
    assert error["Message"] == "A validation exception occurred"
    [element] = error["Elements"]
    assert element["ValidationErrors"] == [{"Message": "Account code '999' is not a valid code for this document."}]
    assert xero.emulator.invoices() == []


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b, ids: b["LineItems"][0].update(TaxType="NOPE"), "TaxType code 'NOPE'"),
        (lambda b, ids: b.pop("Contact"), "A Contact must be specified"),
        (lambda b, ids: b.update(Contact={"ContactID": "11111111-1111-4111-8111-111111111111"}), "could not be found"),
        (lambda b, ids: b.update(Contact={"ContactID": ids["archived"]}), "archived"),
        (lambda b, ids: b.update(LineItems=[]), "At least one line item"),
        (lambda b, ids: b.pop("Type"), "Type field is mandatory"),
        (lambda b, ids: b.update(Status="AUTHORISED"), "Due Date is required"),
    ],
)
def test_invoice_validation_rules(xero: Xero, mutate: Any, message: str) -> None:
    active = xero.contact("Dan")
    archived = xero.contact("Old Customer")
    xero.emulator.archive_contact(archived["ContactID"])
    body = xero.invoice_body(active["ContactID"])
    mutate(body, {"archived": archived["ContactID"]})
    response = xero.put("/Invoices", body)
    assert response.status_code == 400
    errors = [e["Message"] for e in response.json()["Elements"][0]["ValidationErrors"]]
    assert any(message in text for text in errors), errors


def test_summarize_errors_false_keeps_good_elements(xero: Xero) -> None:
    contact = xero.contact("Erin")
    bad = xero.invoice_body(contact["ContactID"], Reference="bad")
    bad["LineItems"][0]["AccountCode"] = "999"
    good = xero.invoice_body(contact["ContactID"], Reference="good")
    response = xero.put("/Invoices", {"Invoices": [bad, good]}, params={"summarizeErrors": "false"})
    assert response.status_code == 200
    first, second = response.json()["Invoices"]
    assert first["StatusAttributeString"] == "ERROR" and first["HasErrors"] is True
    assert first["ValidationErrors"][0]["Message"].startswith("Account code '999'")
    assert second["StatusAttributeString"] == "OK" and second["InvoiceNumber"] == "INV-0001"
    assert [inv["Reference"] for inv in xero.emulator.invoices()] == ["good"]


def test_default_batch_is_all_or_nothing(xero: Xero) -> None:
    contact = xero.contact("Faye")
    bad = xero.invoice_body(contact["ContactID"])
    bad["LineItems"][0]["AccountCode"] = "999"
    good = xero.invoice_body(contact["ContactID"], Contact={"Name": "Brand New Person"})
    response = xero.put("/Invoices", {"Invoices": [good, bad]})
    assert response.status_code == 400
    assert len(response.json()["Elements"]) == 1
    assert xero.emulator.invoices() == []
    # The contact the good element would have created was rolled back too.
    assert [c["Name"] for c in xero.emulator.contacts()] == ["Faye"]


def test_update_and_status_transitions(xero: Xero) -> None:
    contact = xero.contact("Gus")
    created = xero.put("/Invoices", xero.invoice_body(contact["ContactID"])).json()["Invoices"][0]
    invoice_id = created["InvoiceID"]
    lines = [{"LineItemID": created["LineItems"][0]["LineItemID"], "Description": "Sale", "Quantity": 2,
              "UnitAmount": 10, "AccountCode": "200", "TaxType": "OUTPUT2"}]
    updated = xero.post(f"/Invoices/{invoice_id}", {"Invoices": [{"LineItems": lines, "Status": "AUTHORISED",
                                                                   "DueDate": "2030-01-31"}]})
    assert updated.status_code == 200, updated.text
    invoice = updated.json()["Invoices"][0]
    assert invoice["Total"] == 23.0 and invoice["Status"] == "AUTHORISED"
    assert invoice["LineItems"][0]["LineItemID"] == lines[0]["LineItemID"]
    assert invoice["DueDateString"] == "2030-01-31T00:00:00"

    back = xero.post(f"/Invoices/{invoice_id}", {"InvoiceID": invoice_id, "Status": "DRAFT"})
    assert back.status_code == 400
    voided = xero.post("/Invoices", {"Invoices": [{"InvoiceID": invoice_id, "Status": "VOIDED"}]})
    assert voided.json()["Invoices"][0]["Status"] == "VOIDED"
    assert voided.json()["Invoices"][0]["AmountDue"] == 0.0
    assert xero.post(f"/Invoices/{invoice_id}", {"Reference": "late"}).status_code == 400
    assert xero.post("/Invoices/11111111-1111-4111-8111-111111111111", {"Reference": "x"}).status_code == 404


def test_post_without_id_creates(xero: Xero) -> None:
    contact = xero.contact("Hana")
    response = xero.post("/Invoices", {"Invoices": [xero.invoice_body(contact["ContactID"])]})
    assert response.status_code == 200
    assert len(xero.emulator.invoices()) == 1


# --- idempotency ---------------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_response(xero: Xero) -> None:
    contact = xero.contact("Ivy")
    body = {"Invoices": [xero.invoice_body(contact["ContactID"], Reference="POS-1")]}
    key = {"Idempotency-Key": "sale-1"}
    first = xero.put("/Invoices", body, headers=key)
    second = xero.put("/Invoices", body, headers=key)
    assert first.status_code == second.status_code == 200
    assert second.json()["Invoices"][0]["InvoiceID"] == first.json()["Invoices"][0]["InvoiceID"]
    assert len(xero.emulator.invoices()) == 1


def test_idempotency_key_with_a_different_request_is_400(xero: Xero) -> None:
    contact = xero.contact("Jo")
    key = {"Idempotency-Key": "sale-2"}
    assert xero.put("/Invoices", xero.invoice_body(contact["ContactID"], Reference="A"), headers=key).status_code == 200
    reused = xero.put("/Invoices", xero.invoice_body(contact["ContactID"], Reference="B"), headers=key)
    assert reused.status_code == 400
    assert "is used with a different request" in reused.json()["Detail"]
    assert len(xero.emulator.invoices()) == 1


def test_idempotency_caches_errors_and_expires_after_window(xero: Xero) -> None:
    contact = xero.contact("Kim")
    body = xero.invoice_body(contact["ContactID"], Reference="C")
    body["LineItems"][0]["AccountCode"] = "777"
    key = {"Idempotency-Key": "sale-3"}
    assert xero.put("/Invoices", body, headers=key).status_code == 400
    xero.emulator.add_account("777", "Gift Cards")
    # Still inside the window: the cached error comes back although the account now exists.
    assert xero.put("/Invoices", body, headers=key).status_code == 400
    xero.emulator.clock.advance(361)
    xero.headers["Authorization"] = f"Bearer {xero.emulator.issue_token()['access_token']}"
    retried = xero.put("/Invoices", body, headers=key)
    assert retried.status_code == 200
    assert len(xero.emulator.invoices()) == 1


def test_overlong_idempotency_key_is_refused(xero: Xero) -> None:
    contact = xero.contact("Lu")
    response = xero.put("/Invoices", xero.invoice_body(contact["ContactID"]), headers={"Idempotency-Key": "k" * 129})
    assert response.status_code == 400
    assert xero.emulator.invoices() == []


# --- queries -------------------------------------------------------------------------------------


def test_where_filters_and_list_parameters(xero: Xero) -> None:
    mine = xero.contact("Mia", ContactNumber="LS-42")
    other = xero.contact("Ned")
    xero.put("/Invoices", {"Invoices": [
        xero.invoice_body(mine["ContactID"], Reference="R-1"),
        xero.invoice_body(other["ContactID"], Reference="R-2"),
        xero.invoice_body(other["ContactID"], Reference="R-3", Type="ACCPAY"),
    ]})
    xero.emulator.add_invoice_from_other_app(xero.tenant_id, "R-9", Decimal("46.00"), "Ned")

    def refs(**params: str) -> list[str]:
        response = xero.get("/Invoices", params=params)
        assert response.status_code == 200, response.text
        return sorted(inv.get("Reference", "") for inv in response.json()["Invoices"])

    assert refs(where='Reference=="R-2"') == ["R-2"]
    assert refs(where='Contact.ContactNumber=="LS-42"') == ["R-1"]
    assert refs(where='Type=="ACCREC" AND Reference=="R-3"') == []
    assert refs(where='Type=="ACCPAY"') == ["R-3"]
    assert refs(InvoiceNumbers="INV-0001,INV-0002") == ["R-1", "R-2"]
    assert refs(Statuses="AUTHORISED") == ["R-9"]
    assert refs(createdByMyApp="true") == ["R-1", "R-2", "R-3"]
    assert refs(order="Reference DESC") == ["R-1", "R-2", "R-3", "R-9"]
    bad = xero.get("/Invoices", params={"where": 'Reference=="unterminated'})
    assert bad.status_code == 400

    other_app = [inv for inv in xero.emulator.invoices() if inv["Reference"] == "R-9"][0]
    assert other_app["SourceApp"] == "Lightspeed Retail" and other_app["Total"] == 46.0


def test_paging_includes_line_items_and_unpaged_lists_omit_them(xero: Xero) -> None:
    contact = xero.contact("Olga")
    xero.put("/Invoices", {"Invoices": [xero.invoice_body(contact["ContactID"]) for _ in range(5)]})
    unpaged = xero.get("/Invoices").json()
    assert "pagination" not in unpaged and all(inv["LineItems"] == [] for inv in unpaged["Invoices"])
    page = xero.get("/Invoices", params={"page": "2", "pageSize": "2"}).json()
    assert page["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 3, "itemCount": 5}
    assert [inv["InvoiceNumber"] for inv in page["Invoices"]] == ["INV-0003", "INV-0004"]
    assert all(len(inv["LineItems"]) == 1 for inv in page["Invoices"])


# --- contacts ------------------------------------------------------------------------------------


def test_contacts_unique_name_lookup_and_archive(xero: Xero) -> None:
    created = xero.contact("Pat Smith", ContactNumber="C-1", EmailAddress="pat@example.com")
    clash = xero.put("/Contacts", {"Contacts": [{"Name": "pat smith"}]})
    assert clash.status_code == 400
    assert "must be unique across all active contacts" in clash.json()["Elements"][0]["ValidationErrors"][0]["Message"]
    found = xero.get("/Contacts", params={"where": 'ContactNumber=="C-1"'}).json()["Contacts"]
    assert [c["ContactID"] for c in found] == [created["ContactID"]]
    assert xero.get("/Contacts", params={"where": 'Name=="Pat Smith"'}).json()["Contacts"][0]["EmailAddress"] == \
        "pat@example.com"
    too_long = xero.put("/Contacts", {"Name": "Q", "ContactNumber": "x" * 51})
    assert too_long.status_code == 400

    updated = xero.post("/Contacts", {"Contacts": [{"ContactNumber": "C-1", "FirstName": "Pat"}]})
    assert updated.json()["Contacts"][0]["ContactID"] == created["ContactID"]
    assert updated.json()["Contacts"][0]["FirstName"] == "Pat"

    xero.emulator.archive_contact(created["ContactID"])
    assert xero.get("/Contacts").json()["Contacts"] == []
    assert len(xero.get("/Contacts", params={"includeArchived": "true"}).json()["Contacts"]) == 1
    # Archived contacts free their name.
    assert xero.put("/Contacts", {"Name": "Pat Smith"}).status_code == 200


def test_accounts_and_tax_rates_are_seeded(xero: Xero) -> None:
    accounts = {a["Code"]: a for a in xero.get("/Accounts").json()["Accounts"]}
    assert {"090", "200", "260", "400"} <= set(accounts)
    assert accounts["200"]["Type"] == "REVENUE" and accounts["200"]["Name"] == "Sales"
    assert accounts["400"]["Class"] == "EXPENSE"
    rates = {t["TaxType"]: t for t in xero.get("/TaxRates").json()["TaxRates"]}
    assert rates["OUTPUT2"]["EffectiveRate"] == 15.0 and rates["OUTPUT2"]["Name"] == "15% GST on Income"
    assert rates["NONE"]["EffectiveRate"] == 0.0 and "EXEMPTOUTPUT" in rates
    banks = xero.get("/Accounts", params={"where": 'Type=="BANK"'}).json()["Accounts"]
    assert [a["Code"] for a in banks] == ["090"]


# --- limits --------------------------------------------------------------------------------------


def test_remaining_headers_count_down(xero: Xero) -> None:
    first = xero.get("/Invoices")
    second = xero.get("/Invoices")
    for header in ("X-DayLimit-Remaining", "X-MinLimit-Remaining", "X-AppMinLimit-Remaining"):
        assert int(second.headers[header]) == int(first.headers[header]) - 1
    assert first.headers["X-MinLimit-Remaining"] == "59"
    assert first.headers["X-DayLimit-Remaining"] == "4999"
    assert xero.emulator.day_remaining(xero.tenant_id) == 4998


def test_minute_limit_answers_429_with_retry_after() -> None:
    for xero in start({"limits": {"per_minute": 3}}):
        statuses = [xero.get("/Invoices").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = xero.get("/Invoices")
        assert refused.headers["X-Rate-Limit-Problem"] == "minute"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["X-MinLimit-Remaining"] == "0"
        xero.emulator.clock.advance(61)
        assert xero.get("/Invoices").status_code == 200


def test_retry_after_is_in_real_seconds_under_a_time_scale() -> None:
    # At 120x the day window (86,400 emulated s) lasts 720 real seconds.
    for xero in start({"per_day": 1}, time_scale=120.0):
        xero.get("/Invoices")
        refused = xero.get("/Invoices")
        assert refused.status_code == 429
        assert 700 <= int(refused.headers["Retry-After"]) <= 720


def test_day_limit_names_day() -> None:
    for xero in start({"per_day": 2}):
        xero.get("/Invoices")
        xero.get("/Invoices")
        refused = xero.get("/Invoices")
        assert refused.status_code == 429
        assert refused.headers["X-Rate-Limit-Problem"] == "day"
        assert int(refused.headers["Retry-After"]) > 3600


def test_concurrency_limit_counts_requests_in_flight() -> None:
    import threading

    for xero in start():
        xero.emulator.hold_requests()
        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(xero.get("/Accounts").status_code))
                   for _ in range(5)]
        for thread in threads:
            thread.start()
        for _ in range(500):
            if xero.emulator.in_flight(xero.tenant_id) == 5:
                break
            threading.Event().wait(0.01)
        assert xero.emulator.in_flight(xero.tenant_id) == 5
        refused = xero.get("/Accounts")
        assert refused.status_code == 429
        assert refused.headers["X-Rate-Limit-Problem"] == "concurrent"
        xero.emulator.release_requests()
        for thread in threads:
            thread.join(10)
        assert results == [200] * 5
        assert xero.emulator.in_flight(xero.tenant_id) == 0


def test_injected_burst_looks_like_xero() -> None:
    for xero in start():
        xero.emulator.set_faults(burst_429=1)
        refused = xero.get("/Invoices")
        assert refused.status_code == 429
        assert refused.headers["X-Rate-Limit-Problem"] == "minute" and refused.headers["Retry-After"] == "1"
        assert xero.get("/Invoices").status_code == 200


def test_credentials_are_ready_to_use(xero: Xero) -> None:
    creds = xero.emulator.credentials("http://example.invalid")
    assert creds["client_id"] == CLIENT[0] and creds["client_secret"] == CLIENT[1]
    assert creds["tenant_id"] == xero.tenant_id
    response = xero.get("/Invoices", headers={"Authorization": f"Bearer {creds['access_token']}"})
    assert response.status_code == 200
    assert refresh(xero.http, creds["refresh_token"]).status_code == 200


def test_lost_response_then_retry_with_same_key_creates_once(xero: Xero) -> None:
    contact = xero.contact("Rita")
    body = {"Invoices": [xero.invoice_body(contact["ContactID"], Reference="POS-LOST")]}
    xero.emulator.set_faults(lost_response_rate=1.0)
    with pytest.raises(httpx.TransportError):
        xero.put("/Invoices", body, headers={"Idempotency-Key": "lost-1"})
    xero.emulator.clear_faults()
    assert len(xero.emulator.invoices()) == 1  # the write happened although the client saw a failure
    retried = xero.put("/Invoices", body, headers={"Idempotency-Key": "lost-1"})
    assert retried.status_code == 200
    assert retried.json()["Invoices"][0]["InvoiceID"] == xero.emulator.invoices()[0]["InvoiceID"]
    assert len(xero.emulator.invoices()) == 1

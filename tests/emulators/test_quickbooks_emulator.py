"""The QuickBooks Online emulator through plain httpx, following Intuit's public docs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tillbridge.emulation import BackgroundServer
from tillbridge_accounting.emulator import consent
from tillbridge_accounting.emulator import QuickBooksEmulator

CLIENT = ("tillbridge-qbo-demo", "demo-qbo-secret")
REDIRECT = "http://127.0.0.1:8766/callback"
MV = {"minorversion": "75"}


class Qbo:
    def __init__(self, emulator: QuickBooksEmulator, server: BackgroundServer) -> None:
        self.emulator = emulator
        self.http = httpx.Client(base_url=server.url)
        token = emulator.issue_token()
        self.realm = token["realm_id"]
        self.base = f"/v3/company/{self.realm}"
        self.headers = {"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"}

    def post(self, path: str, body: Any, **params: str) -> httpx.Response:
        return self.http.post(self.base + path, json=body, params={**MV, **params}, headers=self.headers)

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(self.base + path, params={**MV, **params}, headers=self.headers)

    def query(self, text: str) -> dict[str, Any]:
        response = self.get("/query", query=text)
        assert response.status_code == 200, response.text
        return response.json()["QueryResponse"]

    def customer(self, name: str) -> dict[str, Any]:
        response = self.post("/customer", {"DisplayName": name})
        assert response.status_code == 200 and "Fault" not in response.json(), response.text
        return response.json()["Customer"]


def invoice_body(customer_id: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer_id},
        "Line": [{"Amount": 30.0, "DetailType": "SalesItemLineDetail", "Description": "Mugs",
                  "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 3, "UnitPrice": 10,
                                          "TaxCodeRef": {"value": "10"}}}],
    }
    body.update(fields)
    return body


def start(options: dict[str, Any] | None = None) -> Iterator[Qbo]:
    emulator = QuickBooksEmulator(options=options or {})
    with BackgroundServer(emulator) as server:
        qbo = Qbo(emulator, server)
        try:
            yield qbo
        finally:
            qbo.http.close()


@pytest.fixture
def qbo() -> Iterator[Qbo]:
    yield from start()


def test_oauth_code_flow_returns_realm_and_tokens(qbo: Qbo) -> None:
    page = qbo.http.get("/connect/oauth2", params={
        "client_id": CLIENT[0], "response_type": "code", "scope": "com.intuit.quickbooks.accounting",
        "redirect_uri": REDIRECT, "state": "abc"})
    assert "Demo Retail Pty Ltd" in page.text and "Allow access" in page.text  # Intuit's consent page
    redirect = consent.submit(qbo.http, page)
    assert redirect.status_code == 302
    query = parse_qs(urlsplit(redirect.headers["location"]).query)
    assert query["realmId"] == [qbo.emulator.realm_id] and query["state"] == ["abc"]
    assert qbo.emulator.realm_id.isdigit()

    token = qbo.http.post("/oauth2/v1/tokens/bearer", auth=CLIENT, data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT})
    assert token.status_code == 200
    body = token.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 100 * 86_400
    assert body["refresh_token"].startswith("AB11")

    refreshed = qbo.http.post("/oauth2/v1/tokens/bearer", auth=CLIENT,
                              data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != body["refresh_token"]
    reused = qbo.http.post("/oauth2/v1/tokens/bearer", auth=CLIENT,
                           data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert reused.status_code == 400 and reused.json() == {"error": "invalid_grant"}
    bad_client = qbo.http.post("/oauth2/v1/tokens/bearer", auth=(CLIENT[0], "wrong"),
                               data={"grant_type": "refresh_token", "refresh_token": "x"})
    assert bad_client.status_code == 401

    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    info = qbo.http.get(f"/v3/company/{qbo.realm}/companyinfo/{qbo.realm}", headers=headers, params=MV)
    assert info.status_code == 200 and info.json()["CompanyInfo"]["CompanyName"]


def test_auth_failures_are_authentication_faults(qbo: Qbo) -> None:
    missing = qbo.http.get(f"{qbo.base}/invoice/1", params=MV)
    assert missing.status_code == 401
    assert missing.json()["Fault"]["type"] == "AuthenticationFault"
    assert missing.json()["Fault"]["Error"][0]["code"] == "3200"
    assert qbo.get(f"/companyinfo/{qbo.realm}").status_code == 200
    qbo.emulator.clock.advance(3601)
    expired = qbo.get(f"/companyinfo/{qbo.realm}")
    assert expired.status_code == 401 and expired.json()["Fault"]["type"] == "AuthenticationFault"


def test_revoked_tokens_stop_working(qbo: Qbo) -> None:
    assert qbo.get(f"/companyinfo/{qbo.realm}").status_code == 200
    qbo.emulator.revoke_all_tokens()
    assert qbo.get(f"/companyinfo/{qbo.realm}").status_code == 401


def test_token_for_another_realm_is_forbidden(qbo: Qbo) -> None:
    response = qbo.http.get("/v3/company/999/companyinfo/999", params=MV, headers=qbo.headers)
    assert response.status_code == 403
    assert response.json()["Fault"]["type"] == "AuthorizationFault"


def test_create_invoice_computes_totals(qbo: Qbo) -> None:
    customer = qbo.customer("Walk-in")
    body = invoice_body(customer["Id"], DocNumber="LS-1001", TxnDate="2030-03-01")
    body["Line"].append({"Amount": 20, "DetailType": "SalesItemLineDetail",
                         "SalesItemLineDetail": {"ItemRef": {"value": "3"}, "Qty": 2, "UnitPrice": 10,
                                                 "TaxCodeRef": {"value": "11"}}})
    body["Line"].append({"DetailType": "DiscountLineDetail",
                         "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10}})
    response = qbo.post("/invoice", body)
    assert response.status_code == 200, response.text
    invoice = response.json()["Invoice"]
    assert response.json()["time"]
    assert invoice["Id"] and invoice["SyncToken"] == "0"
    assert set(invoice["MetaData"]) == {"CreateTime", "LastUpdatedTime"}
    assert invoice["DocNumber"] == "LS-1001" and invoice["TxnDate"] == "2030-03-01"
    assert invoice["CustomerRef"] == {"value": customer["Id"], "name": "Walk-in"}
    # 50.00 of lines, 10% off = 45.00; GST 10% on the discounted GST line (27.00) = 2.70.
    assert invoice["TxnTaxDetail"]["TotalTax"] == 2.7
    assert invoice["TotalAmt"] == 47.7 and invoice["Balance"] == 47.7
    kinds = [line["DetailType"] for line in invoice["Line"]]
    assert kinds == ["SalesItemLineDetail", "SalesItemLineDetail", "SubTotalLineDetail", "DiscountLineDetail"]
    assert invoice["Line"][2]["Amount"] == 50.0 and invoice["Line"][3]["Amount"] == 5.0

    fetched = qbo.get(f"/invoice/{invoice['Id']}").json()["Invoice"]
    assert fetched == invoice
    assert qbo.emulator.invoices()[0]["TotalAmt"] == 47.7


def test_update_needs_current_sync_token_and_sparse_keeps_the_rest(qbo: Qbo) -> None:
    customer = qbo.customer("Sparse Sam")
    invoice = qbo.post("/invoice", invoice_body(customer["Id"], DocNumber="S-1")).json()["Invoice"]
    updated = qbo.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "hi"})
    assert updated.status_code == 200 and "Fault" not in updated.json(), updated.text
    assert updated.json()["Invoice"]["SyncToken"] == "1"
    assert updated.json()["Invoice"]["PrivateNote"] == "hi"
    assert updated.json()["Invoice"]["TotalAmt"] == invoice["TotalAmt"]
    stale = qbo.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "x"})
    assert stale.json()["Fault"]["Error"][0]["code"] == "5010"
    deleted = qbo.post("/invoice", {"Id": invoice["Id"], "SyncToken": "1"}, operation="delete")
    assert deleted.json()["Invoice"]["status"] == "Deleted"
    assert qbo.emulator.invoices() == []


def test_requestid_replays_without_creating_twice(qbo: Qbo) -> None:
    customer = qbo.customer("Replay Ruth")
    first = qbo.post("/invoice", invoice_body(customer["Id"]), requestid="sale-42")
    second = qbo.post("/invoice", invoice_body(customer["Id"]), requestid="sale-42")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert len(qbo.emulator.invoices()) == 1
    third = qbo.post("/invoice", invoice_body(customer["Id"]), requestid="sale-43")
    assert third.json()["Invoice"]["Id"] != first.json()["Invoice"]["Id"]
    assert len(qbo.emulator.invoices()) == 2
    too_long = qbo.post("/invoice", invoice_body(customer["Id"]), requestid="r" * 51)
    assert too_long.status_code == 400
    assert len(qbo.emulator.invoices()) == 2


def test_doc_number_query_and_paging(qbo: Qbo) -> None:
    customer = qbo.customer("Query Quinn")
    for number in ("A-1", "A-2", "A-3"):
        assert qbo.post("/invoice", invoice_body(customer["Id"], DocNumber=number)).status_code == 200
    found = qbo.query("select * from Invoice where DocNumber = 'A-2'")
    assert [inv["DocNumber"] for inv in found["Invoice"]] == ["A-2"]
    assert found["startPosition"] == 1 and found["maxResults"] == 1
    both = qbo.query(f"SELECT * FROM Invoice WHERE CustomerRef = '{customer['Id']}' AND DocNumber = 'A-3'")
    assert len(both["Invoice"]) == 1
    page = qbo.query("select * from Invoice ORDERBY DocNumber DESC STARTPOSITION 2 MAXRESULTS 1")
    assert [inv["DocNumber"] for inv in page["Invoice"]] == ["A-2"] and page["startPosition"] == 2
    assert qbo.query("select * from Invoice where DocNumber = 'nope'") == {}
    assert qbo.query("select count(*) from Invoice") == {"totalCount": 3}
    names = qbo.query("select * from Customer where DisplayName = 'Query Quinn'")
    assert names["Customer"][0]["Id"] == customer["Id"]
    broken = qbo.get("/query", query="select * from Invoice where")
    assert broken.status_code == 400 and broken.json()["Fault"]["Error"][0]["code"] == "4000"


def test_validation_faults_arrive_inside_http_200(qbo: Qbo) -> None:
    customer = qbo.customer("Dup Dora")
    assert qbo.post("/invoice", invoice_body(customer["Id"], DocNumber="D-1")).status_code == 200
    duplicate = qbo.post("/invoice", invoice_body(customer["Id"], DocNumber="D-1"))
    assert duplicate.status_code == 200
    fault = duplicate.json()["Fault"]
    assert fault["type"] == "ValidationFault"
    assert fault["Error"][0]["code"] == "6140"
    assert set(fault["Error"][0]) == {"Message", "Detail", "code", "element"}
    assert "time" in duplicate.json()
    no_lines = qbo.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": []})
    assert no_lines.json()["Fault"]["Error"][0]["code"] == "6000"
    wrong_amount = invoice_body(customer["Id"])
    wrong_amount["Line"][0]["Amount"] = 31
    assert qbo.post("/invoice", wrong_amount).json()["Fault"]["Error"][0]["code"] == "6070"
    unknown = qbo.post("/invoice", invoice_body("9999"))
    assert unknown.json()["Fault"]["Error"][0]["code"] == "2500"
    assert len(qbo.emulator.invoices()) == 1


def test_inactive_customer_and_duplicate_names(qbo: Qbo) -> None:
    customer = qbo.customer("Gone Gary")
    clash = qbo.post("/customer", {"DisplayName": "gone gary"})
    assert clash.json()["Fault"]["Error"][0]["code"] == "6240"
    qbo.emulator.deactivate_customer(customer["Id"])
    refused = qbo.post("/invoice", invoice_body(customer["Id"]))
    assert refused.json()["Fault"]["Error"][0]["code"] == "610"
    assert qbo.query("select * from Customer") == {}
    assert len(qbo.query("select * from Customer where Active = false")["Customer"]) == 1
    assert qbo.emulator.customers()[0]["Active"] is False


def test_faults_can_be_plain_400s() -> None:
    for qbo in start({"faults_in_200": False}):
        customer = qbo.customer("Strict Stan")
        qbo.post("/invoice", invoice_body(customer["Id"], DocNumber="X"))
        duplicate = qbo.post("/invoice", invoice_body(customer["Id"], DocNumber="X"))
        assert duplicate.status_code == 400 and duplicate.json()["Fault"]["Error"][0]["code"] == "6140"


def test_minorversion_below_75_is_rejected(qbo: Qbo) -> None:
    old = qbo.get(f"/companyinfo/{qbo.realm}", minorversion="65")
    assert old.status_code == 400
    assert old.json()["Fault"]["Error"][0]["element"] == "minorversion"
    assert qbo.get(f"/companyinfo/{qbo.realm}", minorversion="75").status_code == 200
    no_version = qbo.http.get(f"{qbo.base}/companyinfo/{qbo.realm}", headers=qbo.headers)
    assert no_version.status_code == 200  # Intuit serves 75 when minorversion is absent


def test_minorversion_can_be_ignored_like_intuit_announced() -> None:
    for qbo in start({"minorversion_policy": "ignore"}):
        assert qbo.get(f"/companyinfo/{qbo.realm}", minorversion="40").status_code == 200


def test_rate_limit_answers_429_with_throttle_fault() -> None:
    for qbo in start({"per_minute": 3}):
        statuses = [qbo.get(f"/companyinfo/{qbo.realm}").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = qbo.get(f"/companyinfo/{qbo.realm}")
        assert refused.json()["Fault"]["Error"][0]["code"] == "3001"
        assert qbo.emulator.minute_remaining() == 0
        qbo.emulator.clock.advance(61)
        assert qbo.get(f"/companyinfo/{qbo.realm}").status_code == 200


def test_concurrency_limit_is_ten_in_flight() -> None:
    for qbo in start():
        qbo.emulator.hold_requests()
        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(qbo.get(f"/companyinfo/{qbo.realm}").status_code))
                   for _ in range(10)]
        for thread in threads:
            thread.start()
        for _ in range(500):
            if qbo.emulator.in_flight() == 10:
                break
            threading.Event().wait(0.01)
        assert qbo.emulator.in_flight() == 10
        assert qbo.get(f"/companyinfo/{qbo.realm}").status_code == 429
        qbo.emulator.release_requests()
        for thread in threads:
            thread.join(10)
        assert results == [200] * 10


def test_credentials_and_snapshot(qbo: Qbo) -> None:
    creds = qbo.emulator.credentials("http://example.invalid")
    assert creds["realm_id"] == qbo.realm and creds["api_url"].endswith(f"/v3/company/{qbo.realm}")
    headers = {"Authorization": f"Bearer {creds['access_token']}"}
    assert qbo.http.get(f"{qbo.base}/item/2", params=MV, headers=headers).json()["Item"]["Name"] == "Retail Sale"
    qbo.customer("Snap")
    assert qbo.emulator.snapshot()["customers"][0]["DisplayName"] == "Snap"
    state = qbo.http.get("/_emulator/state").json()
    assert state["realm_id"] == qbo.realm


def test_lost_response_then_retry_with_same_requestid_creates_once(qbo: Qbo) -> None:
    customer = qbo.customer("Lost Lou")
    qbo.emulator.set_faults(lost_response_rate=1.0)
    with pytest.raises(httpx.TransportError):
        qbo.post("/invoice", invoice_body(customer["Id"]), requestid="lost-1")
    qbo.emulator.clear_faults()
    retried = qbo.post("/invoice", invoice_body(customer["Id"]), requestid="lost-1")
    assert retried.status_code == 200
    assert [inv["Id"] for inv in qbo.emulator.invoices()] == [retried.json()["Invoice"]["Id"]]

"""Unleashed emulator over HTTP: auth, paging, dates, filters, products, customers, quota, webhooks.

The client here is deliberately plain: httpx plus the signature recipe of
shared/api-notes/unleashed.md §1 written out inline, so it checks the emulator against the notes
rather than against the emulator's own signing module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tillbridge.emulation import BackgroundServer
from tillbridge_unleashed.emulator import UnleashedEmulator
from tillbridge_unleashed.signing import sign, verify


class Client:
    """Signs exactly the query string it sends (notes §1, §9)."""

    def __init__(self, base_url: str, api_id: str, api_key: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.api_id, self.api_key = api_id, api_key

    @staticmethod
    def signature(query: str, key: str) -> str:
        return base64.b64encode(hmac.new(key.encode(), query.encode(), hashlib.sha256).digest()).decode()

    def request(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None, *,
        key: str | None = None, signed_query: str | None = None, raw_body: bytes | None = None,
    ) -> httpx.Response:
        query = urlencode(params or {})
        headers = {
            "Accept": "application/json", "Content-Type": "application/json", "api-auth-id": self.api_id,
            "api-auth-signature": self.signature(query if signed_query is None else signed_query, key or self.api_key),
            "client-type": "tillbridge/tests",
        }
        content = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
        return self.http.request(method, path + (f"?{query}" if query else ""), headers=headers, content=content)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.request("GET", path, params)

    def post(self, path: str, body: Any = None) -> httpx.Response:
        return self.request("POST", path, body=body)

    def put(self, path: str, body: Any = None) -> httpx.Response:
        return self.request("PUT", path, body=body)


Factory = Callable[..., tuple[UnleashedEmulator, Client]]


@pytest.fixture
def start() -> Iterator[Factory]:
    running: list[tuple[UnleashedEmulator, BackgroundServer]] = []

    def make(**options: Any) -> tuple[UnleashedEmulator, Client]:
        emu = UnleashedEmulator(seed=7, options=options)
        server = BackgroundServer(emu).start()
        running.append((emu, server))
        return emu, Client(server.url, emu.options["api_id"], emu.options["api_key"])

    yield make
    for emu, server in running:
        server.stop()
        emu.close()


def ms(moment: datetime) -> int:
    return int(round(moment.timestamp() * 1000))


def net_ms(value: str) -> int:
    match = re.fullmatch(r"/Date\((-?\d+)\)/", value)
    assert match, f"not a /Date(ms)/ value: {value!r}"
    return int(match.group(1))


# --- signing -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("customerCode=ACME", "6AHCbbp+PEVv1kRhPiFhaO3FzAEd/UUxYqq14rlqybs="),
        ("", "YSVdwM2vs8GAfUsD4PdzpCf4tSOIHdrpW65tLy+0Gi8="),
        ("pageSize=200&modifiedSince=2024-04-17", "h4Mu4JgK+dBevBr3f06OulXrZ3ZfSjgIc5Fl1UDLRTA="),
    ],
)
def test_signature_vectors_from_the_notes(query: str, expected: str) -> None:
    assert sign(query, "sampleKey123") == expected
    assert verify(query, "sampleKey123", expected)
    assert not verify(query, "otherKey", expected)


def test_verify_lenient_accepts_signature_over_decoded_query() -> None:
    encoded = "orderStatus=Parked%2CCompleted&customer=A+B"
    over_decoded = sign("orderStatus=Parked,Completed&customer=A+B", "k")
    over_php_decoded = sign("orderStatus=Parked,Completed&customer=A B", "k")
    assert verify(encoded, "k", over_decoded) and verify(encoded, "k", over_php_decoded)
    assert not verify(encoded, "k", over_decoded, lenient=False)
    assert verify(encoded, "k", sign(encoded, "k"), lenient=False)
    assert not verify("", "k", "")


# --- auth -------------------------------------------------------------------------------------------
def test_wrong_key_missing_headers_and_wrong_id_are_403(start: Factory) -> None:
    emu, client = start()
    assert client.get("/Warehouses").status_code == 200
    wrong = client.request("GET", "/Warehouses", key="not-the-key")
    assert wrong.status_code == 403 and "Description" in wrong.json()
    bare = httpx.get(f"{client.base_url}/Warehouses", headers={"Accept": "application/json"})
    assert bare.status_code == 403
    other_id = Client(client.base_url, str(uuid.uuid4()), emu.options["api_key"])
    assert other_id.get("/Warehouses").status_code == 403
    # A signature over another query string is refused.
    assert client.request("GET", "/Products", {"productCode": "A"}, signed_query="productCode=B").status_code == 403


def test_signature_covers_encoded_query_and_lenient_mode_is_configurable(start: Factory) -> None:
    _, client = start()
    params = {"orderStatus": "Parked,Completed"}
    assert client.request("GET", "/SalesOrders", params).status_code == 200
    decoded = "orderStatus=Parked,Completed"
    assert client.request("GET", "/SalesOrders", params, signed_query=decoded).status_code == 200
    _, strict = start(lenient_signature=False)
    assert strict.request("GET", "/SalesOrders", params, signed_query=decoded).status_code == 403
    assert strict.request("GET", "/SalesOrders", params).status_code == 200


def test_accept_header_is_optional_unless_strict(start: Factory) -> None:
    _, client = start()
    sig = Client.signature("", client.api_key)
    headers = {"api-auth-id": client.api_id, "api-auth-signature": sig}
    assert httpx.get(f"{client.base_url}/Warehouses", headers=headers).headers["content-type"].startswith("application/json")
    _, strict = start(strict_accept=True)
    headers = {"api-auth-id": strict.api_id, "api-auth-signature": sig}
    assert httpx.get(f"{strict.base_url}/Warehouses", headers={**headers, "Accept": "application/xml"}).status_code == 406
    assert httpx.get(f"{strict.base_url}/Warehouses", headers={**headers, "Accept": "application/json"}).status_code == 200


def test_inspection_routes_need_no_signature_and_spend_no_quota(start: Factory) -> None:
    emu, client = start(monthly_quota=1)
    state = httpx.get(f"{client.base_url}/_emulator/state").json()
    assert state["counts"]["warehouses"] == 3 and state["quota"] == {"limit": 1, "used": 0, "warnings": []}
    assert emu.quota_used() == 0


def test_page_number_in_path_is_not_signed(start: Factory) -> None:
    _, client = start()
    # Signature over the empty string works for /Products/1 and /Products/Page/1.
    for path in ("/Products/1", "/Products/Page/1", "/Products/Page"):
        assert client.request("GET", path, signed_query="").status_code == 200


# --- paging -----------------------------------------------------------------------------------------
def test_paging_same_items_across_all_three_forms(start: Factory) -> None:
    _, client = start(products=5)  # 7 kit products + 5 catalogue products
    first = client.get("/Products", pageSize=5).json()
    assert first["Pagination"] == {"NumberOfItems": 12, "PageSize": 5, "PageNumber": 1, "NumberOfPages": 3}
    codes = [p["ProductCode"] for p in first["Items"]]
    assert codes == sorted(codes, key=str.upper)  # default order ProductCode
    page2 = client.get("/Products/2", pageSize=5).json()
    legacy = client.get("/Products/Page/2", pageSize=5).json()
    assert page2 == legacy
    assert page2["Pagination"]["PageNumber"] == 2 and len(page2["Items"]) == 5
    assert not {p["Guid"] for p in page2["Items"]} & {p["Guid"] for p in first["Items"]}
    last = client.get("/Products/3", pageSize=5).json()
    assert len(last["Items"]) == 2
    assert client.get("/Products/1", pageSize=5).json() == first
    assert client.get("/Products/4", pageSize=5).json()["Items"] == []
    # A GUID segment is a single record, returned bare.
    one = client.get(f"/Products/{first['Items'][0]['Guid']}").json()
    assert "Pagination" not in one and one["ProductCode"] == codes[0]
    assert client.get("/Products/not-a-page").status_code == 404
    assert client.get("/Products/0").status_code == 400


def test_page_size_defaults_caps_and_count_only(start: Factory) -> None:
    emu, client = start(products=1100, components_kit=False)
    default = client.get("/Products").json()["Pagination"]
    assert default["PageSize"] == 200 and default["NumberOfItems"] == 1100 and default["NumberOfPages"] == 6
    capped = client.get("/Products", pageSize=5000).json()
    assert capped["Pagination"]["PageSize"] == 1000 and len(capped["Items"]) == 1000
    assert capped["Pagination"]["NumberOfPages"] == 2
    assert client.get("/Products", pageSize=0).status_code == 400
    assert client.get("/Products", pageSize="x").status_code == 400
    count = client.get("/Invoices", pageSize=0).json()
    assert count == {"Pagination": {"NumberOfItems": 0, "PageSize": 0, "PageNumber": 1, "NumberOfPages": 0}, "Items": []}


# --- dates and modifiedSince -----------------------------------------------------------------------
def test_dates_are_net_date_milliseconds(start: Factory) -> None:
    emu, client = start()
    before = ms(emu.clock.now())
    created = client.post(f"/Products/{uuid.uuid4()}", {"ProductCode": "DATE-1", "ProductDescription": "Dated"}).json()
    after = ms(emu.clock.now())
    assert before - 1 <= net_ms(created["LastModifiedOn"]) <= after + 1
    assert created["CreatedOn"] == created["LastModifiedOn"]
    # Seeded records are 30 days old.
    seeded = client.get("/Warehouses").json()["Items"][0]
    assert net_ms(seeded["LastModifiedOn"]) < before - 29 * 86_400_000


def test_modified_since_filters_created_or_modified(start: Factory) -> None:
    emu, client = start()
    mug = emu.product_by_code("MUG-CERAMIC")
    assert mug is not None
    emu.clock.advance(3600)
    cut = emu.clock.now()
    emu.clock.advance(60)
    client.post(f"/Products/{mug['Guid']}", {"ProductDescription": "Ceramic Mug 350ml (new glaze)"})
    client.post(f"/Products/{uuid.uuid4()}", {"ProductCode": "NEW-1", "ProductDescription": "New"})
    since = cut.strftime("%Y-%m-%dT%H:%M:%S")
    changed = client.get("/Products", modifiedSince=since).json()["Items"]
    assert sorted(p["ProductCode"] for p in changed) == ["MUG-CERAMIC", "NEW-1"]
    with_ms = client.get("/Products", modifiedSince=cut.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]).json()["Items"]
    assert len(with_ms) == 2
    # Date-only form: everything changed today (UTC) or later; seed data is 30 days old.
    today = client.get("/Products", modifiedSince=(emu.clock.now() - timedelta(days=1)).strftime("%Y-%m-%d")).json()["Items"]
    assert {p["ProductCode"] for p in today} == {"MUG-CERAMIC", "NEW-1"}
    bad = client.get("/Products", modifiedSince="17/04/2024")
    assert bad.status_code == 400 and bad.json()["Items"][0]["Field"] == "modifiedSince"


# --- filters ------------------------------------------------------------------------------------------
def test_code_and_name_filters_are_prefix_matches(start: Factory) -> None:
    emu, client = start(customers=3)
    coffee = client.get("/Products", productCode="coffee").json()["Items"]
    assert [p["ProductCode"] for p in coffee] == ["COFFEE-BEANS-1KG"]
    assert client.get("/Products", productCode="BEANS").json()["Items"] == []  # not "contains"
    contains = client.get("/Products", product="BEANS").json()["Items"]  # ``product`` is contains
    assert [p["ProductCode"] for p in contains] == ["COFFEE-BEANS-1KG"]
    assert [w["WarehouseCode"] for w in client.get("/Warehouses", warehouseCode="W").json()["Items"]] == ["W1", "W2", "W3"]
    assert [w["WarehouseCode"] for w in client.get("/Warehouses", warehouseName="Well").json()["Items"]] == ["W2"]
    assert len(client.get("/Customers", customerCode="CUST0000").json()["Items"]) == 3
    assert [c["CustomerCode"] for c in client.get("/Customers", customerCode="CUST00002").json()["Items"]] == ["CUST00002"]
    kit = emu.product_by_code("GIFT-PACK-BREW")
    assert kit is not None
    by_id = client.get("/Products", productId=f"{kit['Guid']},{uuid.uuid4()}").json()["Items"]
    assert [p["ProductCode"] for p in by_id] == ["GIFT-PACK-BREW"]
    no_assembled = {p["ProductCode"] for p in client.get("/Products", excludeAssembled="true").json()["Items"]}
    assert "GIFT-PACK-BREW" not in no_assembled and "BREW-SET" not in no_assembled and "GIFT-BOX" in no_assembled
    brief = client.get("/Products", productCode="GIFT-BOX", brief="true").json()["Items"][0]
    assert set(brief) == {"Guid", "ProductCode", "ProductDescription", "DefaultPurchasePrice", "DefaultSellPrice", "SellPriceTier1", "DefaultSupplierId"}


# --- products ---------------------------------------------------------------------------------------
def test_product_create_or_update(start: Factory) -> None:
    emu, client = start()
    guid = str(uuid.uuid4())
    body = {"Guid": guid, "ProductCode": "TEE-BLK-M", "ProductDescription": "Tee Black M", "DefaultSellPrice": 39.9}
    created = client.post(f"/Products/{guid}", body)
    assert created.status_code == 201
    assert created.json()["DefaultSellPrice"] == 39.9 and created.json()["Guid"] == guid
    emu.clock.advance(5)
    updated = client.post(f"/Products/{guid}", {**body, "ProductDescription": "Organic Tee Black M"})
    assert updated.status_code == 200
    assert updated.json()["CreatedOn"] == created.json()["CreatedOn"]
    assert net_ms(updated.json()["LastModifiedOn"]) > net_ms(created.json()["LastModifiedOn"])
    assert client.get(f"/Products/{guid}").json()["ProductDescription"] == "Organic Tee Black M"
    assert emu.get_product(guid)["DefaultSellPrice"] == Decimal("39.9")  # type: ignore[index]
    mismatch = client.post(f"/Products/{uuid.uuid4()}", body)
    assert mismatch.status_code == 400 and mismatch.json()["Items"][0]["Field"] == "Guid"


def test_product_validation_errors(start: Factory) -> None:
    _, client = start()
    duplicate = client.post(f"/Products/{uuid.uuid4()}", {"ProductCode": "mug-ceramic", "ProductDescription": "Another mug"})
    assert duplicate.status_code == 400
    assert duplicate.json()["Items"] == [{"Field": "ProductCode", "Message": duplicate.json()["Items"][0]["Message"]}]
    assert "already used" in duplicate.json()["Description"]
    too_long = client.post(f"/Products/{uuid.uuid4()}", {"ProductCode": "X" * 101, "ProductDescription": "Long"})
    assert too_long.status_code == 400 and too_long.json()["Items"][0]["Field"] == "ProductCode"
    assert client.post(f"/Products/{uuid.uuid4()}", {"ProductCode": "X" * 100, "ProductDescription": "Max"}).status_code == 201
    missing = client.post(f"/Products/{uuid.uuid4()}", {"ProductCode": "NODESC"})
    assert missing.status_code == 400 and missing.json()["Items"][0]["Field"] == "ProductDescription"
    long_desc = client.post(f"/Products/{uuid.uuid4()}", {"ProductCode": "D1", "ProductDescription": "d" * 501})
    assert long_desc.status_code == 400
    assert client.get("/Products", productCode="NODESC").json()["Items"] == []


def test_product_obsolete_hides_it_from_default_list(start: Factory) -> None:
    emu, client = start()
    box = emu.product_by_code("GIFT-BOX")
    assert box is not None
    response = client.post(f"/Products/Obsolete/{box['Guid']}")
    assert response.status_code == 200 and response.json()["Obsolete"] is True
    assert client.get("/Products", productCode="GIFT-BOX").json()["Items"] == []
    assert len(client.get("/Products", productCode="GIFT-BOX", includeObsolete="true").json()["Items"]) == 1
    assert client.post(f"/Products/Obsolete/{uuid.uuid4()}").status_code == 404


def test_errors_unknown_guid_bad_json_unknown_resource(start: Factory) -> None:
    _, client = start()
    missing = client.get(f"/Products/{uuid.uuid4()}")
    assert missing.status_code == 404 and "Description" in missing.json()
    bad = client.request("POST", f"/Products/{uuid.uuid4()}", raw_body=b"{not json")
    assert bad.status_code == 400 and "JSON" in bad.json()["Description"]
    assert client.request("POST", f"/Products/{uuid.uuid4()}", raw_body=b"[1, 2]").status_code == 400
    assert client.get("/NoSuchThing").status_code == 404
    assert client.request("DELETE", "/Products").status_code == 405


# --- customers --------------------------------------------------------------------------------------
def test_customer_create_update_and_unique_code(start: Factory) -> None:
    emu, client = start()
    guid = str(uuid.uuid4())
    created = client.post(f"/Customers/{guid}", {"CustomerCode": "WALKIN", "CustomerName": "Walk-in Customer", "Currency": {"CurrencyCode": "NZD"}})
    assert created.status_code == 201 and created.json()["Currency"]["CurrencyCode"] == "NZD"
    assert client.post(f"/Customers/{guid}", {"CustomerName": "Walk-in (POS)"}).status_code == 200
    assert emu.customer_by_code("walkin")["CustomerName"] == "Walk-in (POS)"  # type: ignore[index]
    clash = client.post(f"/Customers/{uuid.uuid4()}", {"CustomerCode": "WALKIN", "CustomerName": "Dup"})
    assert clash.status_code == 400 and clash.json()["Items"][0]["Field"] == "CustomerCode"
    nameless = client.post(f"/Customers/{uuid.uuid4()}", {"CustomerCode": "NONAME"})
    assert nameless.status_code == 400 and nameless.json()["Items"][0]["Field"] == "CustomerName"
    unknown_currency = client.post(f"/Customers/{uuid.uuid4()}", {"CustomerCode": "X1", "CustomerName": "X", "Currency": {"CurrencyCode": "XXX"}})
    assert unknown_currency.status_code == 400
    assert [c["CustomerCode"] for c in client.get("/Customers").json()["Items"]] == ["WALKIN"]


# --- reference data ------------------------------------------------------------------------------
def test_taxes_currencies_and_sales_groups(start: Factory) -> None:
    emu, client = start()
    taxes = client.get("/Taxes").json()["Items"]
    gst = [t for t in taxes if t["TaxCode"] == "G.S.T."]
    assert gst and gst[0]["TaxRate"] == 0.15 and gst[0]["CanApplyToRevenue"] is True
    assert {(t["CanApplyToRevenue"], t["CanApplyToExpenses"]) for t in taxes if t["TaxCode"] == "NONE"} == {(True, False), (False, True)}
    assert any(t["TaxRate"] == 0.125 for t in taxes)
    assert all(t["CanApplyToExpenses"] for t in client.get("/Taxes", canApplyToExpenses="true").json()["Items"])
    currencies = client.get("/Currencies").json()
    assert "Pagination" not in currencies
    nzd = next(c for c in currencies["Items"] if c["CurrencyCode"] == "NZD")
    assert nzd["DefaultBuyRate"] is None and nzd["LastModifiedOn"] is None
    assert "NZD" not in {c["CurrencyCode"] for c in client.get("/Currencies", inUse="true").json()["Items"]}
    groups = client.get("/SalesOrderGroups").json()["Items"]
    assert [g["GroupName"] for g in groups] == ["Online", "Retail", "Wholesale"]
    assert emu.sales_groups() == ["Retail", "Online", "Wholesale"]
    default = [w for w in client.get("/Warehouses").json()["Items"] if w["IsDefault"]]
    assert [w["WarehouseCode"] for w in default] == ["W1"]


# --- quota --------------------------------------------------------------------------------------------
def test_monthly_quota_blocks_every_request_until_next_month(start: Factory) -> None:
    emu, client = start(monthly_quota=3)
    emu.products()  # the Python API never counts
    for _ in range(3):
        assert client.get("/Warehouses").status_code == 200
    assert emu.quota_used() == 3
    blocked = client.get("/Products")
    assert blocked.status_code == 429
    assert "quota" in blocked.json()["Description"].lower() and blocked.json()["Quota"] == 3
    assert int(blocked.headers["retry-after"]) > 0
    assert client.post(f"/Products/{uuid.uuid4()}", {"ProductCode": "Q", "ProductDescription": "Q"}).status_code == 429
    assert emu.product_by_code("Q") is None
    assert emu.quota_used() == 3
    now = emu.clock.now()
    next_month = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=timezone.utc)
    emu.clock.advance((next_month - now).total_seconds() + 1)
    assert emu.quota_used() == 0
    assert client.get("/Warehouses").status_code == 200


def test_taxes_are_configurable(start: Factory) -> None:
    _, client = start(taxes=[{"TaxCode": "GST", "Description": "GST 10%", "TaxRate": 0.1, "CanApplyToRevenue": True}])
    taxes = client.get("/Taxes").json()["Items"]
    assert [(t["TaxCode"], t["TaxRate"]) for t in taxes] == [("GST", 0.1)]


def test_quota_status_is_configurable(start: Factory) -> None:
    _, client = start(monthly_quota=1, quota_status=403)
    assert client.get("/Warehouses").status_code == 200
    assert client.get("/Warehouses").status_code == 403


# --- webhooks -----------------------------------------------------------------------------------------
class Receiver:
    """A loopback endpoint recording deliveries; optionally fails the first N."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        self._lock = threading.Lock()

        async def hook(request: Request) -> JSONResponse:
            body = await request.body()
            with self._lock:
                self.received.append((dict(request.headers), body))
                if len(self.received) <= self.fail_first:
                    return JSONResponse({"error": "try later"}, status_code=503)
            return JSONResponse({"ok": True})

        self.server = BackgroundServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])])).start()
        self.url = f"{self.server.url}/hook"


def test_webhook_subscription_and_signed_delivery(start: Factory) -> None:
    emu, client = start(monthly_quota=50)
    receiver = Receiver()
    try:
        created = client.post("/Webhooks/Subscriptions", {"NotificationUrl": receiver.url, "EventTypes": ["product.created", "product.updated"]})
        assert created.status_code == 201
        key = created.json()["SigningKey"]
        listed = client.get("/Webhooks/Subscriptions").json()["Items"]
        assert len(listed) == 1 and "SigningKey" not in listed[0]
        used_before = emu.quota_used()
        guid = str(uuid.uuid4())
        client.post(f"/Products/{guid}", {"ProductCode": "HOOK-1", "ProductDescription": "Hooked"})
        emu.add_customer("C1", "Not subscribed")  # customer.* not subscribed: no delivery
        assert emu.wait_for_webhooks(10)
        assert len(receiver.received) == 1
        headers, raw = receiver.received[0]
        expected = base64.b64encode(hmac.new(key.encode(), f"{headers['x-unleashed-timestamp']}.".encode() + raw, hashlib.sha256).digest()).decode()
        assert headers["x-unleashed-signature"] == expected
        payload = json.loads(raw)
        assert set(payload) == {"subscriptionId", "eventNotificationId", "eventType", "createdOn", "data"}
        assert payload["eventType"] == "product.created" and payload["data"] == {"productGuid": guid}
        assert payload["subscriptionId"] == created.json()["Guid"]
        assert emu.quota_used() == used_before + 1  # the POST only; deliveries do not count
        assert client.request("DELETE", f"/Webhooks/Subscriptions/{created.json()['Guid']}").status_code == 200
        assert client.get("/Webhooks/Subscriptions").json()["Items"] == []
    finally:
        receiver.server.stop()


def test_webhook_retries_and_subscription_limit(start: Factory) -> None:
    emu, client = start(webhook_retry_seconds=[0.01, 0.01])
    receiver = Receiver(fail_first=1)
    try:
        for _ in range(5):
            assert client.post("/Webhooks/Subscriptions", {"NotificationUrl": receiver.url, "EventTypes": ["stockonhand.updated"]}).status_code == 201
        sixth = client.post("/Webhooks/Subscriptions", {"NotificationUrl": receiver.url, "EventTypes": ["product.created"]})
        assert sixth.status_code == 400
        bad = client.post("/Webhooks/Subscriptions", {"NotificationUrl": receiver.url, "EventTypes": ["nope.happened"]})
        assert bad.status_code == 400
        emu.receive_stock("GIFT-BOX", "W1", Decimal("5"))
        assert emu.wait_for_webhooks(10)
        deliveries = emu.webhook_deliveries()
        assert len(deliveries) == 5 and all(d["status"] == "delivered" for d in deliveries)
        assert sorted(d["attempts"] for d in deliveries) == [1, 1, 1, 1, 2]
        assert len(receiver.received) == 6
    finally:
        receiver.server.stop()

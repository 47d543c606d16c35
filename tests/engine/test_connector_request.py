"""``Connector.request``: transport failures, the ``classify`` hook, ``accept`` and the common mapping."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tillbridge import (
    AuthError,
    Connector,
    ConnectorContext,
    QuotaExhausted,
    RateLimited,
    RemoteError,
    TillbridgeError,
    TransientError,
)


class Acme(Connector):
    system = "acme"
    title = "Acme Cloud"
    short_title = "Acme"

    def classify(self, response: httpx.Response, *, what: str = "") -> TillbridgeError | None:
        self.seen.append(response.status_code)
        if response.status_code == 429 and "quota" in response.text:
            return QuotaExhausted(f"Acme quota used up {what}", status=429)
        return None

    def encode_json(self, body: Any) -> str:
        return "{" + ",".join(f'"{k}":{v}' for k, v in body.items()) + "}"  # Decimals as exact numbers


def connector(handler: Any) -> Acme:
    http = httpx.Client(base_url="http://acme.test", transport=httpx.MockTransport(handler))
    acme = Acme(ConnectorContext(connection="c", system="acme", base_url="http://acme.test", credentials={},
                                 save_credentials=lambda _: None, settings={}, http=http))
    acme.seen = []  # type: ignore[attr-defined]
    return acme


def test_an_answer_goes_through_classify_then_the_common_mapping() -> None:
    answers = {"/quota": (429, "monthly quota"), "/busy": (429, "slow down"), "/bad": (400, "no such field"),
               "/auth": (401, "who are you"), "/down": (503, "oops"), "/ok": (200, "{}")}

    def handler(request: httpx.Request) -> httpx.Response:
        status, text = answers[request.url.path]
        return httpx.Response(status, text=text)

    acme = connector(handler)
    assert acme.request("GET", "/ok").status_code == 200
    with pytest.raises(QuotaExhausted, match="Acme quota used up reading things"):
        acme.request("GET", "/quota", what="reading things")
    with pytest.raises(RateLimited, match="Acme rate limit reached"):
        acme.request("GET", "/busy")
    with pytest.raises(RemoteError, match=r"Acme refused the request saving \(HTTP 400: no such field\)") as info:
        acme.request("POST", "/bad", what="saving")
    assert info.value.status == 400
    with pytest.raises(AuthError):
        acme.request("GET", "/auth")
    with pytest.raises(TransientError, match="server error"):
        acme.request("GET", "/down")
    assert acme.seen == [200, 429, 429, 400, 401, 503]  # type: ignore[attr-defined]


def test_accept_returns_an_error_answer_the_caller_reads_but_not_one_classify_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400 if request.url.path == "/report" else 429, text="quota")

    acme = connector(handler)
    report = acme.request("PUT", "/report", accept=lambda r: r.status_code == 400)
    assert report.status_code == 400
    with pytest.raises(QuotaExhausted):
        acme.request("GET", "/quota", accept=lambda r: True)


def test_a_transport_failure_names_the_system_and_its_address() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TransientError, match=r"cannot reach Acme at http://acme.test: ConnectError"):
        connector(handler).request("GET", "/x")


def test_a_json_body_goes_through_encode_json() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(201, json={})

    connector(handler).request("POST", "/things", json={"price": Decimal("19.90")}, headers={"X-Trace": "1"})
    assert sent[0].content == b'{"price":19.90}'
    assert sent[0].headers["content-type"] == "application/json" and sent[0].headers["x-trace"] == "1"

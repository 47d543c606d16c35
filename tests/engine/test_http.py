"""The HTTP plumbing: retries, Retry-After in both forms, no blind retry of unsafe creates, pacing."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from tillbridge import AuthError, RateLimited, RemoteError, TransientError, check_response
from tillbridge.http import RateLimitHeaders, build_client, parse_retry_after, redact_url


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= parse_retry_after(date, now=now) <= 31  # type: ignore[operator]
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0.0  # in the past
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def flaky(statuses: list[int], headers: dict[str, str] | None = None) -> tuple[httpx.MockTransport, list[int]]:
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = statuses[min(len(seen), len(statuses) - 1)]
        seen.append(status)
        return httpx.Response(status, json={"n": len(seen)}, headers=headers or {})

    return httpx.MockTransport(handler), seen


def test_retries_5xx_and_429_honouring_retry_after() -> None:
    waits: list[float] = []
    transport, seen = flaky([503, 429, 200], headers={"Retry-After": "2"})
    client = build_client("http://x", transport=transport, sleep=waits.append, backoff=0.01)
    assert client.get("/a").status_code == 200
    assert seen == [503, 429, 200]
    assert waits == [2.0, 2.0]  # the server's word wins over our backoff


def test_unsafe_create_is_not_retried() -> None:
    transport, seen = flaky([503, 200])
    client = build_client("http://x", transport=transport, sleep=lambda s: None)
    response = client.post("/create", extensions={"tillbridge_retry": False})
    assert response.status_code == 503 and seen == [503]


def test_gives_up_after_the_attempts_and_returns_the_last_answer() -> None:
    transport, seen = flaky([500])
    client = build_client("http://x", transport=transport, sleep=lambda s: None, attempts=3)
    assert client.get("/a").status_code == 500
    assert len(seen) == 3


def test_pacing_waits_for_the_window_when_the_budget_is_spent() -> None:
    waits: list[float] = []
    reset = time.time() + 5

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})

    client = build_client("http://x", transport=httpx.MockTransport(handler), sleep=waits.append,
                          rate_limit_headers=RateLimitHeaders(remaining="X-RateLimit-Remaining",
                                                              reset="X-RateLimit-Reset", reserve=0))
    client.get("/a")
    client.get("/b")
    assert len(waits) == 1 and 3 < waits[0] <= 5


def test_errors_map_to_the_error_tree() -> None:
    def answer(status: int, **kw: object) -> httpx.Response:
        return httpx.Response(status, request=httpx.Request("GET", "http://x"), **kw)  # type: ignore[arg-type]

    with pytest.raises(AuthError):
        check_response(answer(401, json={"error": "Access token is not valid"}), "Lightspeed")
    with pytest.raises(RateLimited) as limited:
        check_response(answer(429, headers={"Retry-After": "9"}), "Lightspeed")
    assert limited.value.retry_after == 9
    with pytest.raises(TransientError):
        check_response(answer(503), "Unleashed")
    with pytest.raises(RemoteError) as refused:
        check_response(answer(400, text="bad code"), "Unleashed")
    assert refused.value.status == 400 and "bad code" in refused.value.message


def test_secrets_are_redacted_from_logged_urls() -> None:
    url = "https://x/api?access_token=abc123&page=2&api_key=zzz"
    assert "abc123" not in redact_url(url) and "zzz" not in redact_url(url) and "page=2" in redact_url(url)


async def _ok_app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    """The smallest ASGI server answer: 200 to every request, the body drained first."""
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the request body
        more = bool((await receive()).get("more_body"))
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_an_unsafe_request_after_an_idle_pause_is_not_cut_by_the_server_closing_the_connection() -> None:
    """A pooled connection reused as the server closes it for being idle cuts the request
    (``ReadError``), and a request not safe to repeat is then lost. The client lets idle
    connections go before the server does, so a pause of about the server's keep-alive opens a
    new one instead. With the expiry at the server's keep-alive (httpx's 5 s against uvicorn's 5 s)
    a pause of 1.0 s here cut the POST with a ``ReadError``."""
    from tillbridge.emulation import BackgroundServer

    with BackgroundServer(_ok_app, keep_alive=1) as server:
        client = build_client(server.url, keepalive_expiry=0.5)
        failures = []
        # pauses around the server's 1 s keep-alive, where its close and our reuse meet
        for pause in [0.94 + i * 0.02 for i in range(7)]:
            client.get("/warm")
            time.sleep(pause)
            try:
                client.post("/count", json={"n": 1}, extensions={"tillbridge_retry": False})
            except httpx.TransportError as exc:
                failures.append((pause, type(exc).__name__))
        client.close()
    assert failures == []

"""Vendor limits across tenants: one count in PostgreSQL for every worker (pyrate-limiter)."""

from __future__ import annotations

import httpx
import pytest

from tillbridge.distributed.limits import SharedLimits
from tillbridge.http import AppRateLimit, build_client

pytestmark = pytest.mark.postgres


def test_two_workers_share_one_budget(postgres_url: str) -> None:
    a, b = SharedLimits(postgres_url), SharedLimits(postgres_url)  # as two processes would
    try:
        limits = (AppRateLimit(3, 60),)
        la, lb = a.limiter("xero", limits), b.limiter("xero", limits)

        # The bucket's table lock is taken NOWAIT (a busy lock is a refusal that the blocking
        # call retries): wait a little, far less than the 60 s window.
        def take(limiter, name="xero") -> bool:  # type: ignore[no-untyped-def]
            return bool(limiter.try_acquire(name, blocking=True, timeout=3))

        assert [take(la), take(la), take(lb)] == [True, True, True]
        # the budget is spent for everyone: neither process gets a fourth call this minute
        assert take(lb) is False
        assert take(la) is False
        # another vendor's budget is its own
        assert take(a.limiter("lightspeed", (AppRateLimit(1, 60),)), "lightspeed") is True
    finally:
        a.close()
        b.close()


def test_every_request_takes_a_permit() -> None:
    taken: list[str] = []
    client = build_client("http://remote.test", transport=httpx.MockTransport(lambda r: httpx.Response(200)),
                          shared_limit=lambda: taken.append("permit"))
    client.get("/a")
    client.get("/b")
    assert taken == ["permit", "permit"]
    assert SharedLimits.__call__(None, "x", ()) is None  # type: ignore[arg-type]  # no limits: nothing to take

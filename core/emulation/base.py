"""The base every emulator builds on: state lock, clock, faults, request counters, inspection.

An emulator subclass supplies its vendor routes (``routes()``), its state snapshot for tests
(``snapshot()``), demo credentials (``credentials()``) and how it seeds a retailer (``seed()``).
The base wraps the routes in counting and fault-injection middleware and adds the test-only
inspection routes under ``/_emulator``, a prefix no real API uses.
"""

from __future__ import annotations

import random
import re
import threading
import uuid
from collections import Counter
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .clock import ScaledClock
from .faults import INSPECTION_PREFIX, FaultConfig, FaultMiddleware

_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-f]{24,})$"
)


def route_key(method: str, path: str) -> str:
    """``GET /api/2.0/products/<uuid>/inventory`` -> ``GET /api/2.0/products/{id}/inventory``."""
    parts = ["{id}" if _ID_SEGMENT.match(p) else p for p in path.split("/")]
    return f"{method} {'/'.join(parts)}"


class RequestStats:
    """What the remote side actually received: counts per route and per status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_route: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()

    def record(self, key: str, status: int) -> None:
        with self._lock:
            self.by_route[key] += 1
            self.by_status[status] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.by_route.values())

    def count(self, prefix: str = "") -> int:
        with self._lock:
            return sum(n for k, n in self.by_route.items() if k.startswith(prefix) or prefix in k)

    def reset(self) -> None:
        with self._lock:
            self.by_route.clear()
            self.by_status.clear()

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": sum(self.by_route.values()),
                "by_route": dict(self.by_route),
                "by_status": {str(k): v for k, v in self.by_status.items()},
            }


class CountingMiddleware:
    def __init__(self, app: ASGIApp, stats: RequestStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(INSPECTION_PREFIX):
            await self.app(scope, receive, send)
            return
        key = route_key(scope["method"], scope["path"])
        recorded = False

        async def watch(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                # Count before the answer leaves: a client that has its answer always sees the
                # request counted (tests compare counts right after a call).
                recorded = True
                self.stats.record(key, int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if not recorded:
                self.stats.record(key, 0)


class Emulator:
    """Base class of an emulated remote API (an ASGI app plus the state behind it)."""

    #: Short name, unique among installed emulators (``lightspeed``, ``unleashed``, ``xero``...).
    name: ClassVar[str] = ""
    #: One line for ``tillbridge sandbox serve``.
    title: ClassVar[str] = ""

    def __init__(
        self,
        *,
        seed: int | None = 1,
        time_scale: float = 1.0,
        faults: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = ScaledClock(time_scale)
        self.fault_config = FaultConfig()
        if faults:
            self.fault_config.update(faults)
        self.options: dict[str, Any] = dict(options or {})
        self.stats = RequestStats()
        self.rng = random.Random(seed if seed is not None else 0)
        self._app: ASGIApp | None = None
        self._faults: FaultMiddleware | None = None
        self.setup()
        if seed is not None:
            self.seed(seed)

    # --- for subclasses -------------------------------------------------------------------
    def setup(self) -> None:
        """Create empty state (called once, before ``seed``)."""

    def seed(self, seed: int) -> None:
        """Fill the state with a realistic retailer derived from ``seed``."""

    def routes(self) -> list[BaseRoute]:
        raise TypeError(f"{type(self).__name__} must define routes()")

    def snapshot(self) -> dict[str, Any]:
        """Plain-JSON view of the state, for tests (``GET /_emulator/state``)."""
        return {}

    def credentials(self, base_url: str) -> dict[str, Any]:
        """Ready-to-use demo credentials for a client pointed at ``base_url``."""
        return {"base_url": base_url}

    def simulate(self, rng: random.Random) -> str | None:
        """One step of everyday activity on this system (a till sale, stock received...).

        Driven by :class:`~tillbridge.emulation.activity.StoreActivity`; returns what happened,
        or ``None`` when this emulator has no activity to simulate.
        """
        return None

    async def rate_limited(self, send: Send) -> None:
        """The vendor's own 429 answer, used for injected bursts. Subclasses override."""
        body = b'{"error": "Too Many Requests"}'
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    # --- helpers ------------------------------------------------------------------------------
    def new_id(self) -> str:
        """A UUID drawn from the seeded generator, so a seed always gives the same ids."""
        with self.lock:
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # --- the ASGI app -------------------------------------------------------------------------
    @property
    def app(self) -> ASGIApp:
        if self._app is None:
            starlette = Starlette(routes=[*self._inspection_routes(), *self.routes()])
            self._faults = FaultMiddleware(starlette, self.fault_config, self.rate_limited)
            self._app = CountingMiddleware(self._faults, self.stats)
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    @property
    def fault_counters(self) -> dict[str, int]:
        _ = self.app
        assert self._faults is not None
        return self._faults.counters.as_dict()

    def set_faults(self, **values: Any) -> None:
        self.fault_config.update(values)
        if "seed" in values and self._faults is not None:
            self._faults.reseed(values["seed"])

    def clear_faults(self) -> None:
        self.fault_config.update(
            {"latency_ms": 0, "error_rate": 0, "burst_429": 0, "drop_rate": 0, "lost_response_rate": 0}
        )

    def _inspection_routes(self) -> list[BaseRoute]:
        async def state(request: Request) -> JSONResponse:
            with self.lock:
                return JSONResponse(self.snapshot())

        async def requests(request: Request) -> JSONResponse:
            return JSONResponse(self.stats.as_dict())

        async def reset_requests(request: Request) -> JSONResponse:
            self.stats.reset()
            return JSONResponse({"ok": True})

        async def faults(request: Request) -> JSONResponse:
            if request.method == "POST":
                try:
                    self.set_faults(**(await request.json()))
                except (ValueError, TypeError) as exc:
                    return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse({"config": self.fault_config.as_dict(), "counters": self.fault_counters})

        async def clock(request: Request) -> JSONResponse:
            if request.method == "POST":
                body = await request.json()
                if "scale" in body:
                    self.clock.set_scale(float(body["scale"]))
                if "advance" in body:
                    self.clock.advance(float(body["advance"]))
            return JSONResponse({"now": self.clock.now().isoformat(), "scale": self.clock.scale})

        p = INSPECTION_PREFIX
        return [
            Route(f"{p}/state", state, methods=["GET"]),
            Route(f"{p}/requests", requests, methods=["GET"]),
            Route(f"{p}/requests/reset", reset_requests, methods=["POST"]),
            Route(f"{p}/faults", faults, methods=["GET", "POST"]),
            Route(f"{p}/clock", clock, methods=["GET", "POST"]),
        ]

"""Fault injection for emulators: the failures a real remote service shows on a bad day.

``FaultMiddleware`` wraps an emulator's ASGI app. Faults are set at start-up or at run time
(``POST /_emulator/faults``) and apply to every API request; the ``/_emulator`` inspection routes
are never faulted.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any, Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

INSPECTION_PREFIX = "/_emulator"


@dataclass
class FaultConfig:
    """What can go wrong, as shares of requests (0.0 to 1.0) or counts.

    - ``latency_ms``: added before every API request is handled; with ``latency_max_ms`` above
      it, each request waits a uniformly drawn delay between the two (a network's spread).
    - ``error_rate``: share answered 500 or 503 *without* being processed.
    - ``burst_429``: the next N requests are refused as rate limited, then it counts down.
    - ``drop_rate``: share whose connection drops before the request is processed.
    - ``lost_response_rate``: share of writes (non-GET) that are processed and committed, after
      which the connection drops: the client sees a failure although the write happened. This is
      the case that proves a client's idempotency.
    """

    latency_ms: float = 0.0
    latency_max_ms: float = 0.0
    error_rate: float = 0.0
    burst_429: int = 0
    drop_rate: float = 0.0
    lost_response_rate: float = 0.0
    seed: int | None = None

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(sorted(known))}")
            if key in {"burst_429"}:
                value = int(value)
            elif key != "seed":
                value = float(value)
                if key.endswith("_rate") and not 0.0 <= value <= 1.0:
                    raise ValueError(f"{key} must be between 0 and 1")
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaultCounters:
    errors: int = 0
    rate_limited: int = 0
    dropped: int = 0
    lost_responses: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


RateLimitedResponder = Callable[[Send], Awaitable[None]]


async def _json(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": body})


class ConnectionDropped(Exception):
    """Raised inside the ASGI app to make the server cut the connection mid-response."""


async def drop_connection(send: Send) -> None:
    """Start a response, promise more body, then abort: the server closes the connection.

    The client sees a protocol/transport error at once, exactly as when a connection is cut.
    ``BackgroundServer`` keeps uvicorn from logging these deliberate aborts as errors.
    """
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1048576")]}
    )
    await send({"type": "http.response.body", "body": b"{", "more_body": True})
    raise ConnectionDropped()


class FaultMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        config: FaultConfig,
        rate_limited: RateLimitedResponder | None = None,
    ) -> None:
        self.app = app
        self.config = config
        self.counters = FaultCounters()
        self._rate_limited = rate_limited
        self._lock = threading.Lock()
        self._random = random.Random(config.seed)

    def reseed(self, seed: int | None) -> None:
        with self._lock:
            self._random = random.Random(seed)

    def _roll(self, share: float) -> bool:
        if share <= 0:
            return False
        with self._lock:
            return self._random.random() < share

    def _take_burst(self) -> bool:
        with self._lock:
            if self.config.burst_429 > 0:
                self.config.burst_429 -= 1
                return True
            return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(INSPECTION_PREFIX):
            await self.app(scope, receive, send)
            return
        cfg = self.config
        if cfg.latency_max_ms > cfg.latency_ms:
            with self._lock:
                delay = self._random.uniform(cfg.latency_ms, cfg.latency_max_ms)
            await asyncio.sleep(delay / 1000.0)
        elif cfg.latency_ms > 0:
            await asyncio.sleep(cfg.latency_ms / 1000.0)
        if self._take_burst():
            self.counters.rate_limited += 1
            if self._rate_limited is not None:
                await self._rate_limited(send)
            else:
                await _json(send, 429, b'{"error": "Too Many Requests"}', [(b"retry-after", b"1")])
            return
        if self._roll(cfg.error_rate):
            self.counters.errors += 1
            status = 503 if self._roll(0.5) else 500
            await _json(send, status, b'{"error": "injected server error"}')
            return
        if self._roll(cfg.drop_rate):
            self.counters.dropped += 1
            await drop_connection(send)
            return
        if scope["method"] != "GET" and self._roll(cfg.lost_response_rate):
            # Let the write happen, swallow the real answer, then cut the connection.
            self.counters.lost_responses += 1

            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            await drop_connection(send)
            return
        await self.app(scope, receive, send)


def fault_config_from(values: dict[str, Any] | None) -> FaultConfig:
    config = FaultConfig()
    if values:
        config.update(values)
    return config


__all__ = ["ConnectionDropped", "FaultConfig", "FaultCounters", "FaultMiddleware", "Send", "drop_connection", "fault_config_from"]

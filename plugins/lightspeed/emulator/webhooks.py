"""Webhook subscriptions (``/api/2.0/webhooks``) and their signed, retried delivery
(https://x-series-api.lightspeedhq.com/docs/webhooks).

Delivery: ``POST`` ``application/x-www-form-urlencoded`` with the JSON object in the field
``payload`` (plus ``type`` and ``domain_prefix``, which the docs say may appear) and
``X-Signature: signature=<hex HMAC-SHA256 of the raw body, keyed by the client secret>,
algorithm=HMAC-SHA256``. The docs leave the encoding open (https://x-series-api.lightspeedhq.com/docs/webhooks
UNCERTAIN); lowercase hex over the raw form body is what public receivers verify, so the emulator signs that way.

Deliveries run on background threads: an API request only queues them.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from tillbridge.emulation import ScaledClock

from .errors import Conflict, NotFound, Unprocessable
from .versioned import Record

#: https://x-series-api.lightspeedhq.com/docs/webhooks: the documented webhook types.
WEBHOOK_TYPES = frozenset(
    {
        "sale.update", "product.update", "customer.update", "inventory.update",
        "register_closure.create", "consignment.send", "consignment.receive",
    }
)  # fmt: skip


def sign(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"signature={digest},algorithm=HMAC-SHA256"


class WebhookRegistry:
    """Subscriptions; the emulator calls it under its lock."""

    def __init__(self, retailer_id: str) -> None:
        self.retailer_id = retailer_id
        self._hooks: dict[str, Record] = {}

    @staticmethod
    def _validated(body: Any, partial: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise Unprocessable("the body must be a JSON object")
        required = () if partial else ("url", "active", "type")
        missing = [k for k in required if k not in body]
        if missing:
            raise Unprocessable(f"missing field(s): {', '.join(missing)}")
        clean: dict[str, Any] = {}
        if "url" in body:
            if not isinstance(body["url"], str) or len(body["url"]) < 3:
                raise Unprocessable("url must be a string of at least 3 characters")
            clean["url"] = body["url"]
        if "active" in body:
            if not isinstance(body["active"], bool):
                raise Unprocessable("active must be true or false")
            clean["active"] = body["active"]
        if "type" in body:
            if body["type"] not in WEBHOOK_TYPES:
                raise Unprocessable(f"unknown webhook type {body['type']!r}")
            clean["type"] = body["type"]
        return clean

    def _check_unique(self, hook_id: str | None, type_: str, url: str) -> None:
        for other in self._hooks.values():
            if other["id"] != hook_id and other["type"] == type_ and other["url"] == url:
                # https://x-series-api.lightspeedhq.com/docs/webhooks: 409
                raise Conflict("a webhook of this type for this URL already exists")

    def create(self, hook_id: str, body: Any) -> Record:
        clean = self._validated(body, partial=False)
        self._check_unique(None, clean["type"], clean["url"])
        hook = {"id": hook_id, "retailer_id": self.retailer_id, **clean}
        self._hooks[hook_id] = hook
        return hook

    def get(self, hook_id: str) -> Record:
        hook = self._hooks.get(hook_id)
        if hook is None:
            raise NotFound("webhook not found")
        return hook

    def update(self, hook_id: str, body: Any) -> Record:
        hook = self.get(hook_id)
        clean = self._validated(body, partial=True)
        merged = {**hook, **clean}
        self._check_unique(hook_id, merged["type"], merged["url"])
        hook.update(clean)
        return hook

    def delete(self, hook_id: str) -> None:
        self.get(hook_id)
        del self._hooks[hook_id]

    def all(self) -> list[Record]:
        return list(self._hooks.values())

    def active_for(self, type_: str) -> list[Record]:
        return [h for h in self._hooks.values() if h["active"] and h["type"] == type_]


@dataclass
class Delivery:
    webhook_id: str
    type: str
    url: str
    body: bytes
    headers: dict[str, str]


def build_delivery(hook: Record, type_: str, payload: dict[str, Any], domain_prefix: str, secret: str) -> Delivery:
    body = urlencode(
        {"payload": json.dumps(payload, separators=(",", ":")), "type": type_, "domain_prefix": domain_prefix}
    ).encode("ascii")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Signature": sign(body, secret)}
    return Delivery(hook["id"], type_, hook["url"], body, headers)


@dataclass(order=True)
class _Due:
    at: float  # time.monotonic()
    seq: int
    delivery: Delivery = field(compare=False)
    attempt: int = field(compare=False, default=0)


class WebhookDispatcher:
    """Sends deliveries from a small thread pool; failed ones come back after a back-off."""

    def __init__(self, clock: ScaledClock, retries: int, backoff: float, timeout: float) -> None:
        self._clock = clock
        self._retries = retries
        self._backoff = backoff
        self._timeout = timeout
        self._due: list[_Due] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        #: The last 1000 attempts: webhook id, type, url, attempt, status (0 = no answer), ok.
        self.log: deque[dict[str, Any]] = deque(maxlen=1000)

    def submit(self, delivery: Delivery) -> None:
        with self._cond:
            if self._closed:
                return
            if self._thread is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lightspeed-webhook")
                self._thread = threading.Thread(target=self._run, name="lightspeed-webhooks", daemon=True)
                self._thread.start()
            heapq.heappush(self._due, _Due(time.monotonic(), next(self._seq), delivery))
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._due or self._due[0].at > time.monotonic()):
                    wait = self._due[0].at - time.monotonic() if self._due else None
                    self._cond.wait(timeout=wait)
                if self._closed:
                    return
                item = heapq.heappop(self._due)
                self._in_flight += 1
            assert self._pool is not None
            try:
                self._pool.submit(self._send, item)
            except RuntimeError:  # the pool was shut down by close() meanwhile
                return

    def _send(self, item: _Due) -> None:
        status = 0
        try:
            with httpx.Client(timeout=self._timeout, trust_env=False) as client:
                response = client.post(item.delivery.url, content=item.delivery.body, headers=item.delivery.headers)
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        ok = 200 <= status < 300  # https://x-series-api.lightspeedhq.com/docs/webhooks: any 2xx within 5 s acknowledges
        with self._cond:
            self._in_flight -= 1
            self.log.append(
                {
                    "webhook_id": item.delivery.webhook_id,
                    "type": item.delivery.type,
                    "url": item.delivery.url,
                    "attempt": item.attempt + 1,
                    "status": status,
                    "ok": ok,
                }
            )
            if not ok and item.attempt < self._retries and not self._closed:
                delay = self._clock.real_seconds(self._backoff * 2**item.attempt)
                heapq.heappush(
                    self._due, _Due(time.monotonic() + delay, next(self._seq), item.delivery, item.attempt + 1)
                )
            self._cond.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is queued or being sent (for tests and the demo)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._due or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(timeout=min(remaining, 0.05))
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._due.clear()
            self._cond.notify_all()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

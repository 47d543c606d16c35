"""Webhook subscriptions and signed deliveries from a background thread.

https://apidocs.unleashedsoftware.com/Webhooks. Documented: at most 5 subscriptions, same auth headers as the
API. Seen in independent receivers [C]: headers ``x-unleashed-signature`` (base64 HMAC-SHA256 of
``"{timestamp}.{rawBody}"`` keyed with the per-subscription signing key, returned once at creation)
and ``x-unleashed-timestamp`` (Unix seconds); camelCase payload ``subscriptionId``,
``eventNotificationId``, ``eventType``, ``createdOn``, ``data`` carrying only ids.

Our choices where the notes say [?]: the management paths ``GET|POST /Webhooks/Subscriptions`` and
``DELETE /Webhooks/Subscriptions/{Guid}``, PascalCase subscription fields (``NotificationUrl``,
``EventTypes``, ``Description``, ``SigningKey``), the event list below, ISO ``createdOn``, and plain
``http://`` URLs being allowed (the real service needs public HTTPS; the emulator posts to
loopback). Deliveries never block an API request: they are queued and posted by one worker thread
with retries; they do not count towards the API quota
(https://intercom.help/unleashed-support/en/articles/11582291-understanding-your-api-usage-limits).
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable
from urllib.parse import urlparse

import httpx

from tillbridge.emulation import ScaledClock

from .errors import UnleashedError, invalid, not_found

log = logging.getLogger(__name__)

EVENT_TYPES = (
    "product.created", "product.updated",
    "customer.created", "customer.updated",
    "salesorder.created", "salesorder.updated",
    "stockonhand.updated",
)
MAX_SUBSCRIPTIONS = 5  # https://apidocs.unleashedsoftware.com/Webhooks
_KEEP_DELIVERIES = 1000  # the delivery log kept for inspection


def signature(signing_key: str, timestamp: str, raw_body: bytes) -> str:
    """``x-unleashed-signature``: base64(HMAC-SHA256(key, "{timestamp}.{rawBody}"))."""
    message = timestamp.encode("ascii") + b"." + raw_body
    return base64.b64encode(hmac.new(signing_key.encode("utf-8"), message, hashlib.sha256).digest()).decode("ascii")


@dataclass
class Delivery:
    subscription_id: str
    event_id: str
    event_type: str
    url: str
    body: bytes
    attempts: int = 0
    status: str = "pending"  # pending | delivered | failed
    last_status_code: int | None = None
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "subscriptionId": self.subscription_id, "eventNotificationId": self.event_id,
            "eventType": self.event_type, "url": self.url, "attempts": self.attempts, "status": self.status,
            "lastStatusCode": self.last_status_code, "lastError": self.last_error,
        }


@dataclass(order=True)
class _Scheduled:
    due: float
    seq: int
    delivery: Delivery = field(compare=False)


class WebhookHub:
    def __init__(
        self,
        clock: ScaledClock,
        new_id: Callable[[], str],
        new_key: Callable[[], str],
        *,
        retry_seconds: tuple[float, ...] = (10.0, 60.0, 300.0),
        timeout: float = 5.0,
        data_as_string: bool = False,
    ) -> None:
        self._clock = clock
        self._new_id = new_id
        self._new_key = new_key
        self._retry_seconds = tuple(retry_seconds)
        self._timeout = timeout
        # https://apidocs.unleashedsoftware.com/Webhooks: ``data`` is "sometimes a JSON string
        # that must be parsed again".
        self._data_as_string = data_as_string
        self._cond = threading.Condition()
        self._heap: list[_Scheduled] = []
        self._seq = itertools.count()
        self._busy = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self._keys: dict[str, str] = {}
        self.deliveries: list[Delivery] = []

    # --- subscriptions ------------------------------------------------------------------------
    def subscribe(self, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        url = body.get("NotificationUrl")
        parsed = urlparse(str(url or ""))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise invalid("NotificationUrl", "NotificationUrl must be an absolute http(s) URL.")
        events = body.get("EventTypes")
        if not isinstance(events, list) or not events:
            raise invalid("EventTypes", f"EventTypes must list one or more of: {', '.join(EVENT_TYPES)}.")
        unknown = [e for e in events if e not in EVENT_TYPES]
        if unknown:
            raise invalid("EventTypes", f"Unknown event types: {', '.join(map(str, unknown))}.")
        # Ids come from the emulator (its lock): take them before our own lock, never inside it.
        guid, key = self._new_id(), self._new_key()
        with self._cond:
            if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
                raise UnleashedError(400, f"An account can have at most {MAX_SUBSCRIPTIONS} webhook subscriptions.", field="NotificationUrl")
            record = {
                "Guid": guid, "NotificationUrl": str(url), "EventTypes": list(dict.fromkeys(events)),
                "Description": body.get("Description"), "Status": "Active", "CreatedOn": now, "LastModifiedOn": now,
            }
            self.subscriptions[guid] = record
            self._keys[guid] = key
            # The signing key is shown once, in the create response (https://apidocs.unleashedsoftware.com/Webhooks).
            return {**record, "SigningKey": self._keys[guid]}

    def unsubscribe(self, guid: str) -> None:
        with self._cond:
            if self.subscriptions.pop(guid.lower(), None) is None:
                raise not_found("Webhook subscription", guid)
            self._keys.pop(guid.lower(), None)

    def list(self) -> list[dict[str, Any]]:
        with self._cond:
            return [dict(s) for s in sorted(self.subscriptions.values(), key=lambda s: s["CreatedOn"])]

    # --- publishing ---------------------------------------------------------------------------
    def publish(self, event_type: str, data: dict[str, Any]) -> None:
        """Queue one delivery per matching subscription; returns at once."""
        with self._cond:
            targets = [(s["Guid"], s["NotificationUrl"]) for s in self.subscriptions.values() if event_type in s["EventTypes"]]
            if not targets or self._closed:
                return
        created = self._clock.now()
        stamp = created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z"
        deliveries = []
        for subscription_id, url in targets:
            event_id = self._new_id()
            payload = {
                "subscriptionId": subscription_id,
                "eventNotificationId": event_id,
                "eventType": event_type,
                "createdOn": stamp,
                "data": json.dumps(data) if self._data_as_string else data,
            }
            body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
            deliveries.append(Delivery(subscription_id, event_id, event_type, url, body))
        with self._cond:
            for delivery in deliveries:
                self.deliveries.append(delivery)
                heapq.heappush(self._heap, _Scheduled(time.monotonic(), next(self._seq), delivery))
            if len(self.deliveries) > _KEEP_DELIVERIES:
                del self.deliveries[: len(self.deliveries) - _KEEP_DELIVERIES]
            self._ensure_worker()
            self._cond.notify_all()

    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="unleashed-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout) as client:
            while True:
                with self._cond:
                    while not self._closed and (not self._heap or self._heap[0].due > time.monotonic()):
                        wait = None if not self._heap else max(0.0, self._heap[0].due - time.monotonic())
                        self._cond.wait(wait)
                    if self._closed:
                        return
                    item = heapq.heappop(self._heap)
                    self._busy += 1
                try:
                    self._attempt(client, item.delivery)
                finally:
                    with self._cond:
                        self._busy -= 1
                        self._cond.notify_all()

    def _attempt(self, client: httpx.Client, delivery: Delivery) -> None:
        with self._cond:
            key = self._keys.get(delivery.subscription_id)
        if key is None:  # unsubscribed meanwhile
            delivery.status, delivery.last_error = "failed", "subscription deleted"
            return
        delivery.attempts += 1
        timestamp = str(int(self._clock.time()))
        headers = {
            "content-type": "application/json",
            "x-unleashed-timestamp": timestamp,
            "x-unleashed-signature": signature(key, timestamp, delivery.body),
        }
        try:
            response = client.post(delivery.url, content=delivery.body, headers=headers)
            delivery.last_status_code = response.status_code
            ok = 200 <= response.status_code < 300
            delivery.last_error = None if ok else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok, delivery.last_error = False, f"{type(exc).__name__}: {exc}"
        if ok:
            delivery.status = "delivered"
            return
        retry = delivery.attempts - 1
        if retry >= len(self._retry_seconds):
            delivery.status = "failed"
            log.warning("webhook %s to %s failed after %d attempts", delivery.event_id, delivery.url, delivery.attempts)
            return
        due = time.monotonic() + self._clock.real_seconds(self._retry_seconds[retry])
        with self._cond:
            heapq.heappush(self._heap, _Scheduled(due, next(self._seq), delivery))
            self._cond.notify_all()

    # --- for tests and shutdown ---------------------------------------------------------------
    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery (retries included) has finished; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout + 1)

    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            return {
                "subscriptions": [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in s.items()} for s in self.subscriptions.values()],
                "deliveries": [d.as_dict() for d in self.deliveries[-200:]],
            }

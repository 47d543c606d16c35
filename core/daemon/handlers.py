"""The contract a connector plugin fulfils to receive its vendor's webhooks.

The daemon's listener is vendor-free: for ``POST /webhooks/{system}/{connection}`` it asks the
handler registered for ``system`` (hook ``register_webhook_handlers``) to verify the delivery's
signature and to say what happened (event types and a de-duplication key). The daemon then
triggers the flows the handler names for those events. A webhook never carries data into a
sync: it only makes the affected flow poll *now*, so polling stays the source of truth and a
forged, lost or repeated delivery can never write anything wrong.

This module imports nothing heavy: plugins import it at load time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

if TYPE_CHECKING:
    from ..connector import Connector


class WebhookRejected(Exception):
    """The delivery is refused (bad or missing signature, stale timestamp, unreadable body).

    The listener answers 401 (signature) or 400 (body) and triggers nothing.
    """


class WebhookUnverifiable(WebhookRejected):
    """The connection has no key to check signatures with (e.g. Lightspeed with a personal token).

    Refused unless the daemon runs with ``--allow-unsigned-webhooks``: harmless by design (a
    webhook only triggers a poll), but an operator should choose it knowingly.
    """


@dataclass(frozen=True)
class WebhookRequest:
    """One delivery as received: header names are lower-case; ``body`` is the raw bytes."""

    headers: Mapping[str, str]
    body: bytes
    received_at: float  # Unix seconds (our clock)


@dataclass(frozen=True)
class WebhookEvent:
    """What one delivery reports.

    :param delivery_key: unique per delivery and stable across the vendor's retries (the
        vendor's notification id, or a hash of the body when there is none); the daemon records
        it so a redelivery triggers nothing twice.
    :param event_type: the vendor's event name (``"sale.update"``); ``""`` when unknown.
    :param record_id: id of the record concerned, when the payload names one (for logs).
    """

    delivery_key: str
    event_type: str
    record_id: str | None = None


@dataclass(frozen=True)
class Subscription:
    """A webhook subscription as the vendor lists it (for ``tillbridge webhooks list``)."""

    id: str
    url: str
    events: tuple[str, ...]
    active: bool = True


class WebhookHandler:
    """Base class: one instance per system, registered through ``register_webhook_handlers``.

    Subclasses set ``system`` and ``event_flows`` and implement :meth:`verify` and
    :meth:`parse` (both called on a worker thread, never on the event loop), plus
    :meth:`subscribe` / :meth:`subscriptions` / :meth:`unsubscribe` for
    ``tillbridge webhooks register|list|unregister``, which get the connection's live connector
    (an authorised ``connector.http`` client and ``connector.context.save_credentials`` for
    keys the vendor returns once).
    """

    #: The connector's system name (``"lightspeed"``).
    system: ClassVar[str] = ""
    #: Event type → names of the flows it affects. Flows a connection has not enabled are
    #: ignored, so a handler may name every flow that could care.
    event_flows: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    def flows_for(self, event_type: str) -> tuple[str, ...]:
        """Flows to trigger for ``event_type``; an unknown type triggers every flow named."""
        known = self.event_flows.get(event_type)
        if known is not None:
            return known
        return tuple(dict.fromkeys(f for flows in self.event_flows.values() for f in flows))

    def verify(self, request: WebhookRequest, credentials: Mapping[str, Any], *, max_age: float | None) -> None:
        """Raise :class:`WebhookRejected` unless the delivery is signed by the vendor.

        :param credentials: the connection's decrypted credentials for this system (read fresh
            for every delivery, so keys saved by ``webhooks register`` apply at once).
        :param max_age: refuse signed timestamps older than this many seconds (``None``: do not
            check); only for vendors that sign a timestamp.
        """
        raise WebhookUnverifiable(f"{self.system} webhooks cannot be verified")

    def parse(self, request: WebhookRequest) -> list[WebhookEvent]:
        """The events a (verified) delivery reports; raise :class:`WebhookRejected` if unreadable."""
        raise WebhookRejected(f"{self.system} webhooks cannot be read")

    def subscribe(self, connector: Connector, url: str) -> list[str]:
        """Subscribe ``url`` to every event in ``event_flows``; idempotent. Returns one line per
        subscription for the operator."""
        from ..errors import Unsupported

        raise Unsupported(f"{self.system} webhooks cannot be subscribed from tillbridge",
                          fix="add the subscription in the vendor's own settings")

    def subscriptions(self, connector: Connector) -> list[Subscription]:
        """The subscriptions the vendor holds for this account."""
        return []

    def unsubscribe(self, connector: Connector, url: str) -> int:
        """Remove the subscriptions that deliver to ``url``; returns how many were removed."""
        return 0


# --- helpers for handlers ---------------------------------------------------------------------------
def body_digest(body: bytes) -> str:
    """A de-duplication key for vendors without a delivery id: SHA-256 of the raw body."""
    return hashlib.sha256(body).hexdigest()


def hmac_sha256(key: str, message: bytes) -> bytes:
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).digest()


def signature_matches(expected: bytes, presented: str) -> bool:
    """Constant-time comparison of a MAC against a header value in hex *or* base64.

    Vendors document the encoding loosely (https://x-series-api.lightspeedhq.com/docs/webhooks UNCERTAIN),
    so both common encodings are accepted; anything else fails.
    """
    text = presented.strip()
    if not text:
        return False
    if hmac.compare_digest(expected.hex().encode(), text.lower().encode("ascii", "replace")):
        return True
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(expected, decoded)


__all__ = [
    "Subscription",
    "WebhookEvent",
    "WebhookHandler",
    "WebhookRejected",
    "WebhookRequest",
    "WebhookUnverifiable",
    "body_digest",
    "hmac_sha256",
    "signature_matches",
]

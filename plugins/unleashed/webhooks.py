"""Unleashed webhooks for the daemon: signature check, de-duplication key, event → flows."""

from __future__ import annotations

import json
from typing import Any, Mapping

from tillbridge import (
    Subscription,
    WebhookEvent,
    WebhookHandler,
    WebhookRejected,
    WebhookRequest,
    WebhookUnverifiable,
    check_response,
    hmac_sha256,
    signature_matches,
)


#: Where ``webhooks register`` keeps the per-subscription signing keys, inside the (encrypted)
#: Unleashed credentials: subscription Guid → key.
SIGNING_KEYS = "webhook_signing_keys"


class UnleashedWebhooks(WebhookHandler):
    """https://apidocs.unleashedsoftware.com/Webhooks: JSON body with ``eventNotificationId`` (the de-duplication
    key), ``eventType``, ``subscriptionId``, ``data`` (ids only, sometimes a JSON string);
    ``x-unleashed-signature`` = base64 HMAC-SHA256 of ``"{timestamp}.{rawBody}"`` keyed by the
    subscription's signing key (returned once, at creation); ``x-unleashed-timestamp``."""

    system = "unleashed"
    event_flows = {
        "product.created": ("export_products",),
        "product.updated": ("export_products",),
        "customer.created": ("export_customers",),
        "customer.updated": ("export_customers",),
        "stockonhand.updated": ("stock",),
        # An order allocates stock: available (on hand − allocated) changes. A completed order
        # also makes a sales invoice, which the accounting plugin's flow sends on (flows a
        # connection has not enabled are ignored).
        "salesorder.created": ("stock",),
        "salesorder.updated": ("stock", "invoices"),
    }

    def verify(self, request: WebhookRequest, credentials: Mapping[str, Any], *, max_age: float | None) -> None:
        keys: dict[str, str] = dict(credentials.get(SIGNING_KEYS) or {})
        if not keys:
            raise WebhookUnverifiable("no webhook signing key is stored: run `tillbridge webhooks register`")
        stamp = request.headers.get("x-unleashed-timestamp", "")
        try:
            signed_at = float(stamp)
        except ValueError:
            raise WebhookRejected("x-unleashed-timestamp is missing or not a number") from None
        if max_age is not None and abs(request.received_at - signed_at) > max_age:
            raise WebhookRejected(f"the signed timestamp is more than {max_age:.0f}s away from our clock")
        expected = [keys[k] for k in (_subscription_of(request.body),) if k in keys] or list(keys.values())
        presented = request.headers.get("x-unleashed-signature", "")
        message = stamp.encode("ascii") + b"." + request.body
        if not any(signature_matches(hmac_sha256(key, message), presented) for key in expected):
            raise WebhookRejected("x-unleashed-signature does not match the body")

    def parse(self, request: WebhookRequest) -> list[WebhookEvent]:
        try:
            body = json.loads(request.body)
            event_id = str(body["eventNotificationId"])
        except (ValueError, KeyError, TypeError):
            raise WebhookRejected("the body is not an Unleashed event (no eventNotificationId)") from None
        data = body.get("data")
        # https://apidocs.unleashedsoftware.com/Webhooks: "sometimes a JSON string that must be parsed again"
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                data = None
        record_id = next((str(v) for k, v in (data or {}).items() if k.lower().endswith("guid")), None) \
            if isinstance(data, dict) else None
        return [WebhookEvent(f"unleashed:{event_id}", str(body.get("eventType") or ""), record_id)]

    def subscribe(self, connector: Any, url: str) -> list[str]:
        keys: dict[str, str] = dict(connector.context.credentials.get(SIGNING_KEYS) or {})
        wanted = list(self.event_flows)
        for sub in self.subscriptions(connector):
            if sub.url != url:
                continue
            if sub.id.lower() in keys and set(wanted) <= set(sub.events):
                return [f"{url}: already subscribed ({len(sub.events)} events)"]
            # Its signing key is lost (shown once) or events are missing: replace it.
            self._delete(connector, sub.id)
            keys.pop(sub.id.lower(), None)
        response = check_response(connector.http.post("/Webhooks/Subscriptions", json={
            "NotificationUrl": url, "EventTypes": wanted, "Description": "tillbridge"}),
            "Unleashed", what="subscribing to webhooks")
        created = response.json()
        keys[str(created["Guid"]).lower()] = created["SigningKey"]
        connector.context.save_credentials({**connector.context.credentials, SIGNING_KEYS: keys})
        return [f"{url}: subscribed to {', '.join(wanted)} (signing key stored, encrypted)"]

    def subscriptions(self, connector: Any) -> list[Subscription]:
        response = check_response(connector.http.get("/Webhooks/Subscriptions"), "Unleashed",
                                  what="listing webhook subscriptions")
        return [Subscription(s["Guid"], s["NotificationUrl"], tuple(s.get("EventTypes") or ()),
                             s.get("Status", "Active") == "Active")
                for s in response.json().get("Items") or []]

    def unsubscribe(self, connector: Any, url: str) -> int:
        keys: dict[str, str] = dict(connector.context.credentials.get(SIGNING_KEYS) or {})
        removed = 0
        for sub in self.subscriptions(connector):
            if sub.url == url:
                self._delete(connector, sub.id)
                keys.pop(sub.id.lower(), None)
                removed += 1
        if removed:
            connector.context.save_credentials({**connector.context.credentials, SIGNING_KEYS: keys})
        return removed

    @staticmethod
    def _delete(connector: Any, guid: str) -> None:
        check_response(connector.http.delete(f"/Webhooks/Subscriptions/{guid}"), "Unleashed",
                       what="removing a webhook subscription")


def _subscription_of(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("subscriptionId")
    except (ValueError, AttributeError):
        return None
    return str(value).lower() if value else None

"""Lightspeed webhooks for the daemon: X-Signature check, de-duplication key, event → flows."""

from __future__ import annotations

import json
from typing import Any, Mapping
from urllib.parse import parse_qs

from tillbridge import (
    Subscription,
    WebhookEvent,
    WebhookHandler,
    WebhookRejected,
    WebhookRequest,
    WebhookUnverifiable,
    body_digest,
    check_response,
    hmac_sha256,
    signature_matches,
)


class LightspeedWebhooks(WebhookHandler):
    """https://x-series-api.lightspeedhq.com/docs/webhooks: form-encoded ``payload`` (JSON), optional ``type``;
    ``X-Signature: signature=<HMAC-SHA256 of the raw body keyed by the app's client_secret>,
    algorithm=HMAC-SHA256``; no delivery id (de-duplicated by a hash of the body)."""

    system = "lightspeed"
    event_flows = {
        "sale.update": ("sales",),
        "product.update": ("products",),
        "customer.update": ("customers",),
        # The POS count moved: by a sale (sale.update runs the sales flow, whose order moves the
        # inventory's level, which runs the stock export) or by our own stock export (an echo).
        # The export publishes the inventory's figure when *that* changes, so nothing to run.
        "inventory.update": (),
    }

    def verify(self, request: WebhookRequest, credentials: Mapping[str, Any], *, max_age: float | None) -> None:
        secret = credentials.get("client_secret")
        # https://x-series-api.lightspeedhq.com/docs/webhooks: personal-token webhooks are presumably unsigned
        if not secret:
            raise WebhookUnverifiable("no client_secret is stored for Lightspeed (personal token?)")
        fields = dict(part.strip().split("=", 1) for part in request.headers.get("x-signature", "").split(",")
                      if "=" in part)
        if fields.get("algorithm", "").upper() != "HMAC-SHA256":
            raise WebhookRejected("X-Signature is missing or names another algorithm than HMAC-SHA256")
        # https://x-series-api.lightspeedhq.com/docs/webhooks UNCERTAIN: hex or base64 of the HMAC over the raw form
        # body; both are accepted.
        if not signature_matches(hmac_sha256(secret, request.body), fields.get("signature", "")):
            raise WebhookRejected("X-Signature does not match the body")

    def parse(self, request: WebhookRequest) -> list[WebhookEvent]:
        form = parse_qs(request.body.decode("utf-8", "replace"))
        try:
            payload = json.loads(form["payload"][0])
        except (KeyError, IndexError, ValueError):
            raise WebhookRejected("the form field 'payload' is missing or not JSON") from None
        event_type = (form.get("type") or [""])[0] or _guess_type(payload)
        record_id = payload.get("id") if isinstance(payload, dict) else None
        return [WebhookEvent(body_digest(request.body), event_type, str(record_id) if record_id else None)]

    def subscribe(self, connector: Any, url: str) -> list[str]:
        existing = {(h.url, e): h for h in self.subscriptions(connector) for e in h.events}
        lines = []
        for event_type in self.event_flows:
            hook = existing.get((url, event_type))
            if hook is None:
                response = connector.http.post("/api/2.0/webhooks",
                                               json={"url": url, "active": True, "type": event_type})
                # https://x-series-api.lightspeedhq.com/docs/webhooks: 409 = this type and URL exist already
                if response.status_code != 409:
                    check_response(response, "Lightspeed", what=f"subscribing {event_type}")
                lines.append(f"{event_type}: subscribed")
            elif not hook.active:
                check_response(connector.http.put(f"/api/2.0/webhooks/{hook.id}", json={"active": True}),
                               "Lightspeed", what=f"re-activating {event_type}")
                lines.append(f"{event_type}: re-activated")
            else:
                lines.append(f"{event_type}: already subscribed")
        if not connector.context.credentials.get("client_secret"):
            lines.append("warning: no client_secret is stored, so deliveries cannot be verified; connect "
                         "with OAuth, or run the daemon with --allow-unsigned-webhooks")
        return lines

    def subscriptions(self, connector: Any) -> list[Subscription]:
        response = check_response(connector.http.get("/api/2.0/webhooks"), "Lightspeed", what="listing webhooks")
        return [Subscription(str(h["id"]), h["url"], (h["type"],), bool(h.get("active")))
                for h in response.json().get("data") or []]

    def unsubscribe(self, connector: Any, url: str) -> int:
        removed = 0
        for hook in self.subscriptions(connector):
            if hook.url == url:
                check_response(connector.http.delete(f"/api/2.0/webhooks/{hook.id}"), "Lightspeed",
                               what="removing a webhook")
                removed += 1
        return removed


def _guess_type(payload: Any) -> str:
    """https://x-series-api.lightspeedhq.com/docs/webhooks: ``type`` is not guaranteed in the form; tell the record
    by its shape, else unknown (an unknown event triggers every Lightspeed flow)."""
    if not isinstance(payload, dict):
        return ""
    if "line_items" in payload or "register_sale_products" in payload:
        return "sale.update"
    if "outlet_id" in payload and "product_id" in payload:
        return "inventory.update"
    if "customer_code" in payload:
        return "customer.update"
    if "handle" in payload or "sku" in payload:
        return "product.update"
    return ""

"""``LightspeedEmulator``: Lightspeed Retail (X-Series) as tillbridge sees it.

HTTP: OAuth (``/connect``, ``/api/1.0/token``), API 2.0 reads with the version cursor,
``/search``, product/customer writes (2.0/2.1), ``POST /api/register_sales`` (0.9), webhooks.
Python: the same store, driven directly by tests, the demo and the store-activity simulator.
Facts and their sources: shared/api-notes/lightspeed-xseries.md (cited by section).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tillbridge.emulation import Emulator, Send

from . import consignments, register_sales, routes_oauth, routes_read, routes_search, routes_webhooks, routes_write
from .auth import TokenStore
from .errors import NotFound
from .http import json_response
from .money import dumps, jsonable
from .options import LightspeedOptions
from .payloads import payload_for
from .ratelimit import RATE_LIMITED_BODY, RateLimiter
from .seed import seed_store
from .state import LightspeedStore
from .versioned import Record, VersionedCollection
from .wallclock import http_date
from .webhooks import WebhookDispatcher, WebhookRegistry, build_delivery


def _clone(value: Any) -> Any:
    """A copy callers may change without touching the store (much faster than deepcopy)."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


class LightspeedEmulator(Emulator):
    """Options: see ``LightspeedOptions``. Money and quantities in the dicts the Python API
    returns are ``Decimal``; on the wire they are JSON numbers."""

    name: ClassVar[str] = "lightspeed"
    title: ClassVar[str] = "Lightspeed Retail (X-Series): OAuth, API 2.0 version paging, rate limits, webhooks"

    opts: LightspeedOptions
    store: LightspeedStore
    tokens: TokenStore
    limiter: RateLimiter
    webhooks: WebhookRegistry
    dispatcher: WebhookDispatcher

    # --- Emulator hooks ---------------------------------------------------------------------
    def setup(self) -> None:
        self.opts = LightspeedOptions.from_dict(self.options)
        self.tokens = TokenStore(self.opts, self.clock)
        self.webhooks = WebhookRegistry(retailer_id="")
        self.dispatcher = WebhookDispatcher(
            self.clock, self.opts.webhook_retries, self.opts.webhook_backoff, self.opts.webhook_timeout
        )
        self.store = self._new_store()
        self.limiter = RateLimiter(
            self.clock, self.opts.domain_prefix, lambda: self.store.active_register_count(), self.opts.rate_limit
        )

    def _new_store(self) -> LightspeedStore:
        return LightspeedStore(self.opts, self.new_id, self.clock, self.rng, self._emit)

    def seed(self, seed: int) -> None:
        """Replace the state with the retailer ``seed`` gives (same seed, same store)."""
        with self.lock:
            self.rng.seed(seed)
            self.store = self._new_store()
            seed_store(self.store)
            self.webhooks.retailer_id = self.store.retailer["id"]

    def routes(self) -> list[BaseRoute]:
        async def unknown_endpoint(request: Request) -> Response:
            # https://x-series-api.lightspeedhq.com/reference example text
            return json_response({"error": "service not found"}, 404)

        return [
            *routes_oauth.routes(self),
            *routes_read.routes(self),
            *routes_write.routes(self),
            *register_sales.routes(self),
            *routes_search.routes(self),
            *routes_webhooks.routes(self),
            *consignments.routes(self),
            Route("/api/{rest:path}", unknown_endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            store = self.store
            return {
                "domain_prefix": self.opts.domain_prefix,
                "version": store.version,
                "versions": store.versions(),
                "counts": {name: len(coll) for name, coll in store.collections.items()},
                "outlets": jsonable(list(store.outlets.values())),
                "registers": jsonable(list(store.registers.values())),
                "rate_limit": {"enabled": self.limiter.enabled, "limit": self.limiter.limit()},
                "webhooks": jsonable(self.webhooks.all()),
                "webhook_deliveries": list(self.dispatcher.log),
            }

    def credentials(self, base_url: str) -> dict[str, Any]:
        base = base_url.rstrip("/")
        return {
            "base_url": base,
            "api_base_url": f"{base}/api/2.0",
            "authorize_url": f"{base}/connect",
            "token_url": f"{base}/api/1.0/token",
            "domain_prefix": self.opts.domain_prefix,
            "client_id": self.opts.client_id,
            "client_secret": self.opts.client_secret,
            "personal_token": self.opts.personal_token,
        }

    async def rate_limited(self, send: Send) -> None:
        """An injected 429 burst, shaped like a real one (https://x-series-api.lightspeedhq.com/docs/rate_limiting):
        body, HTTP-date Retry-After."""
        body = dumps(RATE_LIMITED_BODY)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", http_date(time.time() + 1).encode()),
            (b"x-ratelimit-limit", str(self.limiter.limit()).encode()),
            (b"x-ratelimit-remaining", b"0"),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    # --- webhooks ---------------------------------------------------------------------------
    def _emit(self, type_: str, record: Record) -> None:
        """Queue deliveries for a write (called by the store, under the lock; never blocks)."""
        hooks = self.webhooks.active_for(type_)
        if not hooks:
            return
        payload = payload_for(self.store, type_, record)
        for hook in hooks:
            self.dispatcher.submit(
                build_delivery(hook, type_, payload, self.opts.domain_prefix, self.opts.client_secret)
            )

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """The latest delivery attempts (webhook_id, type, url, attempt, status, ok)."""
        return list(self.dispatcher.log)

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery (and retry) is done; False on timeout."""
        return self.dispatcher.wait_idle(timeout)

    def simulate(self, rng: Any) -> str | None:
        """One step of everyday activity (see the ``activity`` module)."""
        from .activity import simulate_step

        return simulate_step(self, rng)

    def close(self) -> None:
        """Stop the webhook threads (deliveries still queued are dropped)."""
        self.dispatcher.close()

    # --- Python API: tokens and limits ----------------------------------------------------------
    def issue_token(self, app: str | None = None) -> dict[str, Any]:
        """A token response as ``/api/1.0/token`` gives it, without the OAuth dance. ``app``
        defaults to the configured client id; "personal" returns the personal token; any other
        name gets its own rate-limit bucket."""
        return self.tokens.issue(app or self.opts.client_id)

    def revoke_all_tokens(self) -> None:
        self.tokens.revoke_all()

    def set_rate_limit(self, enabled: bool) -> None:
        self.limiter.enabled = enabled

    # --- Python API: reads ----------------------------------------------------------------------
    def _all(self, collection: VersionedCollection) -> list[dict[str, Any]]:
        with self.lock:
            return [_clone(r) for r in collection.values() if r.get("deleted_at") is None]

    def outlets(self) -> list[dict[str, Any]]:
        return self._all(self.store.outlets)

    def registers(self) -> list[dict[str, Any]]:
        return self._all(self.store.registers)

    def products(self) -> list[dict[str, Any]]:
        return self._all(self.store.products)

    def customers(self) -> list[dict[str, Any]]:
        return self._all(self.store.customers)

    def sales(self) -> list[dict[str, Any]]:
        return self._all(self.store.sales)

    def taxes(self) -> list[dict[str, Any]]:
        return self._all(self.store.taxes)

    def get_product(self, product_id: str) -> dict[str, Any] | None:
        with self.lock:
            product = self.store.products.get(product_id)
            return _clone(product) if product is not None else None

    def product_by_sku(self, sku: str) -> dict[str, Any] | None:
        """The product with this code (any of its codes, as ``GET /products?sku=``)."""
        with self.lock:
            product = self.store.product_by_code(sku)
            return _clone(product) if product is not None else None

    def get_sale(self, sale_id: str) -> dict[str, Any] | None:
        with self.lock:
            sale = self.store.sales.get(sale_id)
            return _clone(sale) if sale is not None else None

    def inventory_level(self, product_id: str, outlet_id: str) -> Decimal:
        with self.lock:
            self.store.require_product(product_id)
            record = self.store.inventory_record(product_id, outlet_id)
            if record is None:
                raise NotFound("outlet not found")
            return Decimal(record["inventory_level"])

    # --- Python API: writes ----------------------------------------------------------------------
    def create_product(
        self,
        name: str,
        sku: str,
        price_excluding_tax: Decimal,
        *,
        supply_price: Decimal | None = None,
        description: str = "",
        variant_parent_id: str | None = None,
        tax_id: str | None = None,
        inventory: Mapping[str, Decimal] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Create a product (a variant when ``variant_parent_id`` is given: it takes the
        family's name and handle). ``extra``: ``variant_options``, ``product_codes``,
        ``handle``, ``has_inventory``, ``is_active``."""
        with self.lock:
            product = self.store.create_product(
                name,
                sku,
                price_excluding_tax,
                supply_price=supply_price,
                description=description,
                variant_parent_id=variant_parent_id,
                tax_id=tax_id,
                inventory=inventory,
                **extra,
            )
            return _clone(product)

    def update_product(self, product_id: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return _clone(self.store.update_product(product_id, **fields))

    def delete_product(self, product_id: str) -> dict[str, Any]:
        with self.lock:
            return _clone(self.store.delete_product(product_id))

    def set_inventory(self, product_id: str, outlet_id: str, amount: Decimal) -> None:
        with self.lock:
            self.store.set_inventory(product_id, outlet_id, amount)

    def create_customer(
        self,
        first_name: str | None,
        last_name: str | None,
        *,
        email: str | None = None,
        customer_code: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        with self.lock:
            customer = self.store.create_customer(
                first_name, last_name, email=email, customer_code=customer_code, **fields
            )
            return _clone(customer)

    def update_customer(self, customer_id: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return _clone(self.store.update_customer(customer_id, **fields))

    def ring_up_sale(
        self,
        outlet_id: str,
        lines: list[dict[str, Any]],
        *,
        customer_id: str | None = None,
        status: str = "CLOSED",
        note: str | None = None,
        discount_total: Decimal | None = None,
    ) -> dict[str, Any]:
        """Ring up a sale at the outlet's first register; see ``SaleOps.ring_up_sale``."""
        with self.lock:
            sale = self.store.ring_up_sale(
                outlet_id, lines, customer_id=customer_id, status=status, note=note, discount_total=discount_total
            )
            return _clone(sale)

    def void_sale(self, sale_id: str) -> dict[str, Any]:
        with self.lock:
            return _clone(self.store.void_sale(sale_id))

    def return_sale(self, sale_id: str) -> dict[str, Any]:
        with self.lock:
            return _clone(self.store.return_sale(sale_id))

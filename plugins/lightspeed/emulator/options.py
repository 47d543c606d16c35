"""Options of the Lightspeed emulator, with the defaults a demo store uses.

Every choice the emulator makes where the vendor docs are silent or uncertain is an option here,
so a test can flip it (see shared/api-notes/lightspeed-xseries.md for what is documented).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass
class LightspeedOptions:
    #: The store's subdomain, returned to the OAuth callback and in the token response
    #: (https://x-series-api.lightspeedhq.com/docs/authorization).
    domain_prefix: str = "demostore"
    #: The one OAuth app registered with the emulated store.
    client_id: str = "tillbridge-demo"
    client_secret: str = "demo-client-secret"
    #: Registered redirect URIs (exact match, https://x-series-api.lightspeedhq.com/docs/authorization).
    #: ``None`` accepts any loopback
    #: ``http://127.0.0.1:<port>/...`` or ``http://localhost:<port>/...`` URI, for local demos.
    redirect_uris: list[str] | None = None
    #: A personal token (https://x-series-api.lightspeedhq.com/docs/authorization): always valid,
    #: rate-limited as the app "personal".
    personal_token: str = "lsxs_pt_demo_personal_token"
    outlets: int = 3
    registers_per_outlet: int = 1
    #: User products to seed; about 10% of them come in variant families of 2-3.
    products: int = 300
    customers: int = 50
    #: Closed sales of history to seed (they take stock like any sale).
    sales: int = 0
    rate_limit: bool = True
    #: Access-token life in emulated seconds. 86400 comes from a secondary digest
    #: (https://x-series-api.lightspeedhq.com/docs/authorization, UNCERTAIN).
    access_token_ttl: float = 86400.0
    #: Authorization-code life in emulated seconds
    #: (https://x-series-api.lightspeedhq.com/docs/authorization: 10 minutes, UNCERTAIN).
    authorization_code_ttl: float = 600.0
    #: Version-cursor page sizes. The 2.0 docs state neither a default nor a maximum
    #: (https://x-series-api.lightspeedhq.com/docs/pagination,
    #: UNCERTAIN); Vend's Go client says up to 10,000. The spec's shared PageSize parameter
    #: declares a default of 100, but the brief for this emulator asks for 1000.
    default_page_size: int = 1000
    max_page_size: int = 10000
    #: ``/sales`` pages: Vend's Go client says 500 for sales (https://x-series-api.lightspeedhq.com/docs/pagination,
    #: CODE S5); larger requests are silently capped, so a client must not take a capped page for the last one.
    sales_max_page_size: int = 500
    #: ``/search`` offset paging: at most 1000, larger values silently capped
    #: (https://x-series-api.lightspeedhq.com/reference, DOC).
    #: The default is not documented; 100 is the default of the spec's shared (unused)
    #: ``PageSize`` parameter.
    search_default_page_size: int = 100
    search_max_page_size: int = 1000
    #: Version block of an empty page: "omit" (the 2.0 spec's ``Version`` requires integer
    #: ``min``/``max``, so an empty page cannot carry one) or "null" (what the 2026-07 date
    #: version returns, https://x-series-api.lightspeedhq.com/docs/pagination).
    empty_page_version: str = "omit"
    #: Status for a product code already used by another product (changelog 2021-04 says codes
    #: are unique; the status is not documented, https://x-series-api.lightspeedhq.com/reference lists
    #: 409 for other duplicates).
    duplicate_code_status: int = 409
    #: Status of a write whose body breaks its published schema (wrong type, missing required
    #: field, value outside an enum). https://x-series-api.lightspeedhq.com/reference: 400 is the documented
    #: validation status; 422 is for requests understood but "cannot be processed".
    request_validation_status: int = 400
    #: ``PUT /api/2.1/products/{id}`` setting inventory on a product that does not track it
    #: (``has_inventory`` false, or composite). The docs
    #: (x-series-api.lightspeedhq.com/docs/inventory_updates) only describe tracked products, and
    #: do not say what happens otherwise: "refuse" answers 422 (as for an update that "cannot be
    #: processed", https://x-series-api.lightspeedhq.com/reference), "ignore" answers 200 and keeps no stock.
    #: Refusing is the stricter choice.
    untracked_inventory_write: str = "refuse"
    #: Webhook delivery: extra attempts after the first failure, and the first back-off delay in
    #: emulated seconds (doubles each time). Real Lightspeed retries 20 times over 48 h
    #: (https://x-series-api.lightspeedhq.com/docs/webhooks).
    webhook_retries: int = 3
    webhook_backoff: float = 2.0
    webhook_timeout: float = 5.0
    #: Inventory counts (consignments.py): items per ``POST /consignments/{id}/bulk``
    #: (x-series-api.lightspeedhq.com/reference/createorupdateconsignmentproducts: "keep batches
    #: ≤ 500") and the emulated seconds a count takes to reach STOCKTAKE_IN_PROGRESS_PROCESSED
    #: (the docs say to wait for it, not how long: INFERRED).
    stocktake_bulk_limit: int = 500
    stocktake_processing_seconds: float = 2.0

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> "LightspeedOptions":
        known = {f.name for f in fields(cls)}
        unknown = set(values or {}) - known
        if unknown:
            raise ValueError(f"unknown lightspeed emulator option(s): {', '.join(sorted(unknown))}")
        opts = cls(**(values or {}))
        if opts.empty_page_version not in {"omit", "null"}:
            raise ValueError("empty_page_version must be 'omit' or 'null'")
        if opts.untracked_inventory_write not in {"refuse", "ignore"}:
            raise ValueError("untracked_inventory_write must be 'refuse' or 'ignore'")
        if opts.outlets < 1:
            raise ValueError("a store needs at least one outlet")
        return opts

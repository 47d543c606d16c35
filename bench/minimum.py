"""The fewest API calls each scenario could possibly make, from page limits and real changes.

A minimum is built from what the APIs allow, never from what tillbridge happens to do:

* a polled collection costs one request per page of the records that really changed in it
  (at least one request, to learn that nothing did);
* Lightspeed's version cursor gives no total, so a client learns the end from a short page:
  ``n // page + 1`` requests for ``n`` records (an exactly full last page needs one more look);
  Unleashed reports ``NumberOfPages``, so ``ceil(n / page)`` (at least 1);
* a write costs one request per record where the API has no batch endpoint (Unleashed products,
  customers and sales orders; Lightspeed inventory is one ``PUT /api/2.1/products/{id}`` per
  product carrying all its outlets);
* a sales order created ``Completed`` is one request (shared/api-notes/unleashed.md §4.6: create
  as Completed for POS sales); one short of stock is two: created ``Parked``, then completed
  (which leaves it parked with its stock allocated, notes §8) — the client knows it is short
  from the stock it read or took in;
* Lightspeed stock levels of more than ``STOCK_COUNT_THRESHOLD`` products at one outlet are
  set with one inventory count per outlet and push batch (x-series-api.lightspeedhq.com/docs/
  inventory_creating_inventory_counts): stale-count check (once per connector and outlet), create, one bulk
  call per 500 counts, one look at the processing status, the sales made while it was open, and
  completion; fewer products stay one PUT per product;
* the sales orders of one warehouse that take the same stock keep the POS's order, the rest go
  side by side; what an order takes includes the components an auto-assembled kit would use, so
  pushing sales reads the bills of materials (one page; again after ten minutes of pushing,
  which a long import may cost a few times over: within the 1.05× tolerance);
* reference data a flow needs (tax rates, the retailer's discount product, the warehouse codes,
  the walk-in customer and the discount product in Unleashed) once per connector.

Each minimum keeps its parts by name, so the report can show where a surplus comes from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sizes import LS_PAGE_MAX, LS_SALES_PAGE_MAX, UL_PAGE_MAX, rate_limits


def ls_pages(changed: int, page: int = LS_PAGE_MAX) -> int:
    """Requests to read ``changed`` records through Lightspeed's version cursor."""
    return changed // page + 1


#: tillbridge_lightspeed.connector.STOCK_COUNT_THRESHOLD and LightspeedConnector.stock_push_gather
#: (the stock export's pages are gathered to this many levels, then pushed as one batch)
STOCK_COUNT_THRESHOLD = 50
STOCK_PUSH_BATCH = 15_000
COUNT_BULK_LIMIT = 500


def add_stock_push(m: "Minimum", per_outlet: dict[str, int], products: int, *, first: bool = False) -> None:
    """Setting ``per_outlet[o]`` changed levels at each outlet, ``products`` products in all;
    ``first``: the connector's first counts (it looks for stale counts of its own once per
    connector, one look for all outlets, like reference data)."""
    levels = sum(per_outlet.values())
    batches = max(1, math.ceil(levels / STOCK_PUSH_BATCH))
    counted = {o: n for o, n in per_outlet.items() if n / batches > STOCK_COUNT_THRESHOLD}
    for o, n in counted.items():
        per_batch = math.ceil(n / batches)
        m.add("lightspeed", "inventory count: per batch and outlet create, status, complete", batches * 3)
        m.add("lightspeed", "inventory count bulk calls (500 counts each)", batches * math.ceil(per_batch / COUNT_BULK_LIMIT))
    if counted:  # the counts of a batch share one look at the sales made while they were open
        m.add("lightspeed", "inventory count: per batch one sales look" + (" (and the stale-count check)" if first else ""),
              batches + (1 if first else 0))
    small = {o: n for o, n in per_outlet.items() if o not in counted}
    if small:  # products with a level only at small outlets: one PUT each (at most one per level)
        rest = products if not counted else sum(small.values())
        m.add("lightspeed", "inventory PUT per changed product (outlets below the count threshold)",
              min(products, rest))


def ul_pages(changed: int) -> int:
    """Requests to read ``changed`` records from an Unleashed list (it reports NumberOfPages)."""
    return max(1, math.ceil(changed / UL_PAGE_MAX))


@dataclass
class Minimum:
    """Calls needed per system, by part (``{"lightspeed": {"products pages": 1, ...}}``)."""

    parts: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, system: str, what: str, calls: int) -> "Minimum":
        bucket = self.parts.setdefault(system, {})
        bucket[what] = bucket.get(what, 0) + calls
        return self

    def system(self, name: str) -> int:
        return sum(self.parts.get(name, {}).values())

    @property
    def total(self) -> int:
        return sum(sum(p.values()) for p in self.parts.values())

    def merged(self, other: "Minimum") -> "Minimum":
        out = Minimum({s: dict(p) for s, p in self.parts.items()})
        for system, parts in other.parts.items():
            for what, n in parts.items():
                out.add(system, what, n)
        return out


@dataclass(frozen=True)
class Catalogue:
    """What the emulators hold, as far as the minimum needs it (from the host's ``counts``)."""

    ls_products_all: int  # every product record the cursor returns (deleted ones included)
    products: int  # products the POS sells (each becomes one Unleashed product)
    # of which track inventory (has_inventory, not composite): the only ones the stock export
    # writes to; the others are never-diminishing in Unleashed (no stock levels)
    stocked: int
    ls_customers_all: int
    customers: int
    ls_sales_all: int
    sales: int  # closed sales, not voids or returns: each becomes one sales order
    warehouses: int  # mapped outlet/warehouse pairs
    registers: int


def idle_poll(cat: Catalogue) -> Minimum:
    """Every flow polled, nothing changed: one request per polled collection."""
    m = Minimum()
    for what in ("products", "customers", "sales"):
        m.add("lightspeed", f"{what} poll", 1)
    m.add("unleashed", "products poll", 1).add("unleashed", "customers poll", 1)
    m.add("unleashed", "stock-on-hand poll (one per mapped warehouse)", cat.warehouses)
    return m


def full_sync(cat: Catalogue, short: int = 0) -> Minimum:
    """Every flow from nothing: every record read once and written once; ``short`` of the sales
    cannot complete for lack of stock (Parked + Complete, two calls each)."""
    m = Minimum()
    m.add("lightspeed", "products pages", ls_pages(cat.ls_products_all))
    m.add("lightspeed", "customers pages", ls_pages(cat.ls_customers_all))
    m.add("lightspeed", "sales pages", ls_pages(cat.ls_sales_all, LS_SALES_PAGE_MAX))
    m.add("lightspeed", "tax rates + retailer (discount product)", 2)
    add_stock_push(m, {f"w{i}": cat.stocked for i in range(cat.warehouses)}, cat.stocked, first=True)
    m.add("lightspeed", "sales since the sales cursor (stock export)", 1)
    m.add("unleashed", "product writes", cat.products)
    m.add("unleashed", "customer writes", cat.customers)
    m.add("unleashed", "sales orders (created Completed)", cat.sales - short)
    if short:
        m.add("unleashed", "sales orders short of stock (created Parked, then Complete)", 2 * short)
    m.add("unleashed", "taxes, walk-in customer, discount product, warehouses", 4)
    m.add("unleashed", "bills of materials (which kits auto-assemble from which components: orders "
                       "that share stock keep their order)", 1)
    m.add("unleashed", "products pages (export flow reads our writes back)", ul_pages(cat.products))
    m.add("unleashed", "customers pages (export flow reads our writes back)", ul_pages(cat.customers))
    m.add("unleashed", "stock-on-hand pages", cat.warehouses * ul_pages(cat.stocked))
    return m


def incremental(cat: Catalogue, k: int) -> Minimum:
    """Every flow after ``k`` products changed at the POS: ``k`` writes, and the export flow
    reading those ``k`` writes back (Unleashed cannot leave out a client's own changes)."""
    m = Minimum()
    m.add("lightspeed", "products pages", ls_pages(k))
    m.add("lightspeed", "customers poll", 1).add("lightspeed", "sales poll", 1)
    m.add("unleashed", "product writes", k)
    m.add("unleashed", "products pages (our writes read back)", ul_pages(k))
    m.add("unleashed", "customers poll", 1)
    m.add("unleashed", "stock-on-hand poll (one per mapped warehouse)", cat.warehouses)
    return m


def stock_export(cat: Catalogue, changed_per_warehouse: dict[str, int], products: int) -> Minimum:
    """The stock flow after stock moved: the changed rows of each mapped warehouse, the POS sales
    not yet imported (subtracted from what is published), the levels set (``add_stock_push``)."""
    m = Minimum()
    pages = sum(ul_pages(changed_per_warehouse.get(w, 0)) for w in changed_per_warehouse)
    pages += max(0, cat.warehouses - len(changed_per_warehouse))  # unchanged warehouses: one look each
    m.add("unleashed", "stock-on-hand pages", pages)
    m.add("lightspeed", "sales since the sales cursor", 1)
    add_stock_push(m, {w: n for w, n in changed_per_warehouse.items() if n}, products)
    return m


def invoices(day: int, customers: int = 1) -> Minimum:
    """A day's invoices to Xero: read the new Unleashed invoices and the orders they came from
    (for the POS sale number; listed by completion date, a page per 1000), then Xero's batches
    of 50 (accounting-and-peers.md: ~50 elements per batch request), the day's new contacts
    (one look-up, one batch create), and the reference lists once per connector (the OAuth
    token was fetched when accounting was enabled)."""
    m = Minimum()
    m.add("unleashed", "invoices pages", ul_pages(day))
    m.add("unleashed", "their orders, listed by completion date", ul_pages(day))
    m.add("xero", "invoice batches of 50", math.ceil(day / 50))
    m.add("xero", "contacts: look-up + create", 2 * math.ceil(customers / 50))
    m.add("xero", "tax rates, accounts (once per connector)", 2)
    return m


def floor_seconds(minimum: Minimum, cat: Catalogue, time_scale: float) -> float:
    """Real seconds the vendors' limits impose on the needed calls: calls ÷ allowed rate, per
    rate-limited API, the slowest of them (the emulators run ``time_scale`` times faster than
    real time)."""
    floors = [minimum.system(system) * window / limit / time_scale
              for system, (limit, window) in rate_limits(cat.registers).items()]
    return max(floors, default=0.0)


#: Calls in flight at once that each vendor allows, for the latency floor. Xero documents 5
#: ("5 concurrent calls" per tenant: https://developer.xero.com/documentation/guides/oauth2/limits/);
#: Unleashed and Lightspeed document no such limit, so the floor uses the conservative default of
#: the connection setting that bounds our own writes (``unleashed_push_concurrency`` = 4; the same 4
#: for Lightspeed). Reads of a paginated feed go one page after the other whatever the limit.
CONCURRENCY = {"xero": 5, "unleashed": 4, "lightspeed": 4, "quickbooks": 5}


def latency_floor_seconds(minimum: Minimum, mean_latency: float, concurrency: dict[str, int] | None = None) -> float:
    """Real seconds the network's round trip imposes on the needed calls: calls × mean latency ÷
    the calls the vendor lets be in flight at once, per API, the slowest of them."""
    if mean_latency <= 0:
        return 0.0
    limits = concurrency or CONCURRENCY
    floors = [minimum.system(system) * mean_latency / limits.get(system, 1) for system in minimum.parts]
    return max(floors, default=0.0)


def binding_limits(minimum: Minimum, cat: Catalogue) -> list[str]:
    """The rate-limited APIs whose needed calls exceed one window's budget. Limits are counted in
    fixed windows, so calls that fit in one window are not slowed by the limit at all."""
    return [system for system, (limit, _) in rate_limits(cat.registers).items() if minimum.system(system) > limit]


def reconcile_day(sales: int, orders: int, invoices: int, accounting: bool) -> Minimum:
    """One trading day reconciled: the POS's time zone (one outlets call), the day's sales from
    Lightspeed's search (up to 1000 a page; a short page ends it), the day's orders from one
    order-date-filtered Unleashed list (it reports NumberOfPages) and, with accounting on, the
    day's sent invoices looked up by number (Xero takes 40 numbers a request in our client; the
    API's limit is the URL's length). Nothing else: the causes come from our own tables."""
    m = Minimum()
    m.add("lightspeed", "outlets (the trading day's time zone)", 1)
    m.add("lightspeed", "the day's sales, search pages of 1000", sales // 1000 + 1)
    m.add("lightspeed", "the discount product (once per connector)", 1)
    m.add("unleashed", "the day's orders, by order date", ul_pages(orders))
    if accounting and invoices:
        m.add("xero", "the day's invoices, looked up by number", math.ceil(invoices / 40))
    return m

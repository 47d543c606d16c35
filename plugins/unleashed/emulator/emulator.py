"""``UnleashedEmulator``: the Unleashed inventory API, in process, for tests, demos and simulation.

HTTP behaviour follows shared/api-notes/unleashed.md; the Python methods below let tests, the demo
and the simulator arrange and inspect the company without spending API calls (they never count
towards the monthly quota).
"""

from __future__ import annotations

import base64
import copy
from decimal import Decimal
from typing import Any, ClassVar

from starlette.routing import BaseRoute, Route

from tillbridge.emulation import Emulator, Send

from . import boms, customers, products, sales_orders, stock_on_hand
from .adjustments import create_adjustment
from .errors import UnleashedError
from .lookups import customer_by_code, find_by_code, product_by_code
from .quota import MonthlyQuota
from .routes import METHODS, UnleashedApi
from .seed import seed_company, seed_options, seed_reference
from .state import Settings, UnleashedState
from .webhooks import WebhookHub
from .wire import dumps, to_wire

DEFAULT_OPTIONS: dict[str, Any] = {
    "api_id": "6f1c2a9e-4b7d-4e21-9c3a-2d8e5f7a1b04",
    "api_key": "demo-unleashed-api-key-please-change",
    "warehouses": 3,
    "products": 0,
    "components_kit": True,
    "customers": 0,
    "sales_groups": ["Retail", "Online", "Wholesale"],
    "base_currency": "NZD",
    # Tax rates as {TaxCode, Description, TaxRate (fraction), CanApplyToRevenue, CanApplyToExpenses};
    # None = 15% "G.S.T." on revenue, "NONE" 0% for revenue and for expenses, a 12.5% rate.
    "taxes": None,
    "monthly_quota": None,
    "quota_status": 429,
    "strict_totals": True,
    "duplicate_order_post": "return_existing",
    # Accept a signature over the percent-decoded query too
    # (https://apidocs.unleashedsoftware.com/AuthenticationHelp [?]).
    "lenient_signature": True,
    # Refuse requests whose Accept header does not allow JSON (off: the emulator only speaks JSON).
    "strict_accept": False,
    # Emulated seconds between webhook delivery retries (https://apidocs.unleashedsoftware.com/Webhooks:
    # retried, schedule unverified).
    "webhook_retry_seconds": [10, 60, 300],
    "webhook_data_as_string": False,
    "api_user": "api.user@tillbridge.example",
}


class UnleashedEmulator(Emulator):
    name: ClassVar[str] = "unleashed"
    title: ClassVar[str] = "Unleashed inventory API (products, stock on hand, BOMs, sales orders, invoices)"

    state: UnleashedState
    quota: MonthlyQuota
    webhooks: WebhookHub

    # --- Emulator hooks -----------------------------------------------------------------------
    def setup(self) -> None:
        self.options = {**DEFAULT_OPTIONS, **self.options}
        if self.options["duplicate_order_post"] not in ("return_existing", "error"):
            raise ValueError("duplicate_order_post must be 'return_existing' or 'error'")
        settings = Settings(
            base_currency=str(self.options["base_currency"]),
            strict_totals=bool(self.options["strict_totals"]),
            duplicate_order_post=str(self.options["duplicate_order_post"]),
            api_user=str(self.options["api_user"]),
        )
        self.webhooks = WebhookHub(
            self.clock,
            self.new_id,
            self._new_signing_key,
            retry_seconds=tuple(float(s) for s in self.options["webhook_retry_seconds"]),
            data_as_string=bool(self.options["webhook_data_as_string"]),
        )
        self.state = UnleashedState(now_fn=self.clock.now, new_id=self.new_id, emit=self.webhooks.publish, settings=settings)
        quota = self.options["monthly_quota"]
        self.quota = MonthlyQuota(self.clock, None if quota is None else int(quota), int(self.options["quota_status"]))
        with self.lock:
            seed_reference(self.state, seed_options(self.options))

    def seed(self, seed: int) -> None:
        with self.lock:
            seed_company(self.state, self.rng, seed_options(self.options))

    def routes(self) -> list[BaseRoute]:
        return [Route("/{path:path}", UnleashedApi(self).handle, methods=METHODS)]

    def credentials(self, base_url: str) -> dict[str, Any]:
        return {
            "base_url": base_url,
            "api_id": self.options["api_id"],
            "api_key": self.options["api_key"],
            "client_type": "tillbridge/emulator",
        }

    async def rate_limited(self, send: Send) -> None:
        # Injected bursts only: Unleashed documents no per-second limit
        # (https://intercom.help/unleashed-support/en/articles/11582291-understanding-your-api-usage-limits).
        body = dumps({"Description": "Too many requests. Please retry shortly.", "Items": []})
        await send({
            "type": "http.response.start",
            "status": 429,
            "headers": [(b"content-type", b"application/json; charset=utf-8"), (b"retry-after", b"1")],
        })
        await send({"type": "http.response.body", "body": body})

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            s = self.state
            stock = [
                {
                    "ProductCode": s.products[p]["ProductCode"], "WarehouseCode": s.warehouses[w]["WarehouseCode"],
                    "QtyOnHand": lvl.on_hand, "AllocatedQty": lvl.allocated, "AvailableQty": lvl.available,
                }
                for (p, w), lvl in sorted(s.stock.items()) if p in s.products and w in s.warehouses
            ]
            return to_wire({
                "counts": {
                    "warehouses": len(s.warehouses), "products": len(s.products), "customers": len(s.customers),
                    "bills_of_materials": len(s.boms), "sales_orders": len(s.orders), "invoices": len(s.invoices),
                    "stock_adjustments": len(s.adjustments),
                },
                "products": [{"Guid": p["Guid"], "ProductCode": p["ProductCode"]} for p in self.products()],
                "sales_orders": [
                    {"Guid": o["Guid"], "OrderNumber": o["OrderNumber"], "OrderStatus": o["OrderStatus"], "Total": o["Total"]}
                    for o in self.sales_orders()
                ],
                "invoices": [{"InvoiceNumber": i["InvoiceNumber"], "OrderNumber": i["OrderNumber"]} for i in self.invoices()],
                "stock": stock,
                "quota": {"limit": self.quota.limit, "used": self.quota.used(), "warnings": list(self.quota.warnings)},
                "webhooks": self.webhooks.snapshot(),
            })

    def _new_signing_key(self) -> str:
        with self.lock:
            return base64.b64encode(self.rng.getrandbits(256).to_bytes(32, "big")).decode("ascii")

    # --- Python API: reading ----------------------------------------------------------------------
    def warehouses(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(sorted(self.state.warehouses.values(), key=lambda w: w["WarehouseCode"]))

    def products(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(sorted(self.state.products.values(), key=lambda p: p["ProductCode"].upper()))

    def product_by_code(self, code: str) -> dict[str, Any] | None:
        with self.lock:
            return copy.deepcopy(product_by_code(self.state, code))

    def get_product(self, guid: str) -> dict[str, Any] | None:
        with self.lock:
            return copy.deepcopy(self.state.products.get(guid.lower()))

    def customers(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(sorted(self.state.customers.values(), key=lambda c: c["CustomerCode"].upper()))

    def customer_by_code(self, code: str) -> dict[str, Any] | None:
        with self.lock:
            return copy.deepcopy(customer_by_code(self.state, code))

    def sales_orders(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(sorted(self.state.orders.values(), key=lambda o: o["OrderNumber"]))

    def get_sales_order(self, guid: str) -> dict[str, Any] | None:
        with self.lock:
            return copy.deepcopy(self.state.orders.get(guid.lower()))

    def invoices(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(sorted(self.state.invoices.values(), key=lambda i: i["InvoiceNumber"]))

    def sales_groups(self) -> list[str]:
        with self.lock:
            return [g["GroupName"] for g in self.state.sales_groups.values() if not g["Obsolete"]]

    def taxes(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self.state.taxes.values()))

    def bills_of_materials(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self.state.boms.values()))

    def stock_on_hand(self, product_guid: str, warehouse_guid: str, *, assembled: bool = False) -> dict[str, Decimal]:
        """QtyOnHand, AllocatedQty and AvailableQty (plus what auto-assembly could build if ``assembled``)."""
        with self.lock:
            return stock_on_hand.stock_numbers(self.state, self._product_guid(product_guid), self._warehouse_guid(warehouse_guid), assembled=assembled)

    def quota_used(self) -> int:
        """API calls counted this calendar month of the emulated clock
        (https://intercom.help/unleashed-support/en/articles/11582291-understanding-your-api-usage-limits)."""
        return self.quota.used()

    # --- Python API: arranging ----------------------------------------------------------------------
    def add_product(self, code: str, description: str, *, sell_price: Decimal | None = None, guid: str | None = None, **fields: Any) -> dict[str, Any]:
        """Create a product (raises ``UnleashedError`` 400 exactly as ``POST /Products/{Guid}`` would)."""
        body = {**fields, "ProductCode": code, "ProductDescription": description}
        if sell_price is not None:
            body["DefaultSellPrice"] = sell_price
        with self.lock:
            guid = (guid or self.new_id()).lower()
            if guid in self.state.products:
                raise UnleashedError(400, f"Product '{guid}' already exists.", field="Guid")
            record, _ = products.upsert_product(self.state, guid, body)
            return copy.deepcopy(record)

    def update_product(self, guid: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            guid = self._product_guid(guid)
            record, _ = products.upsert_product(self.state, guid, fields)
            return copy.deepcopy(record)

    def obsolete_product(self, guid: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(products.obsolete_product(self.state, self._product_guid(guid)))

    def add_customer(self, code: str, name: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            guid = str(fields.pop("guid", None) or self.new_id()).lower()
            record, _ = customers.upsert_customer(self.state, guid, {**fields, "CustomerCode": code, "CustomerName": name})
            return copy.deepcopy(record)

    def receive_stock(self, product_guid: str, warehouse_guid: str, quantity: Decimal, *, unit_cost: Decimal | None = None) -> None:
        """Add ``quantity`` to on hand through a Completed stock adjustment ("Stock received")."""
        with self.lock:
            product, warehouse = self._product_guid(product_guid), self._warehouse_guid(warehouse_guid)
            current = stock_on_hand.stock_numbers(self.state, product, warehouse)["QtyOnHand"]
            received = Decimal(str(quantity))
            self._adjust(product, warehouse, current + received, "Stock received", unit_cost, received)

    def set_stock(self, product_guid: str, warehouse_guid: str, quantity: Decimal) -> None:
        """Set on hand to ``quantity`` through a Completed stock adjustment ("Stock count")."""
        with self.lock:
            self._adjust(self._product_guid(product_guid), self._warehouse_guid(warehouse_guid), Decimal(str(quantity)), "Stock count", None, None)

    def _adjust(self, product: str, warehouse: str, new_qty: Decimal, reason: str, unit_cost: Decimal | None, received: Decimal | None) -> None:
        line: dict[str, Any] = {"Product": {"Guid": product}, "NewQuantity": new_qty}
        if unit_cost is not None and received is not None:
            level = self.state.level(product, warehouse)
            old_qty = max(level.on_hand, Decimal(0)) if level else Decimal(0)
            avg = self.state.products[product].get("AverageLandPrice") or Decimal(0)
            line["NewActualValue"] = old_qty * avg + received * Decimal(str(unit_cost))
        create_adjustment(self.state, self.new_id(), {
            "Warehouse": {"Guid": warehouse}, "AdjustmentReason": reason, "StockAdjustmentLines": [line],
        })

    def add_bom(self, product_guid: str, lines: list[tuple[str, Decimal]], *, can_auto_assemble: bool = True) -> dict[str, Any]:
        """A bill of materials for ``product_guid``: ``lines`` are (component Guid or code, quantity)."""
        with self.lock:
            body = {
                "Product": {"Guid": self._product_guid(product_guid)},
                "CanAutoAssemble": can_auto_assemble,
                "BillOfMaterialsLines": [
                    {"LineNumber": n, "Product": {"Guid": self._product_guid(component)}, "Quantity": qty}
                    for n, (component, qty) in enumerate(lines, start=1)
                ],
            }
            return copy.deepcopy(boms.create_bom(self.state, self.new_id(), body))

    def create_sales_order(self, body: dict[str, Any], *, guid: str | None = None) -> dict[str, Any]:
        """As ``POST /SalesOrders/{Guid}`` (without spending quota)."""
        with self.lock:
            record, _ = sales_orders.create_order(self.state, (guid or body.get("Guid") or self.new_id()), body)
            return copy.deepcopy(record)

    def complete_order(self, guid: str) -> dict[str, Any]:
        """Complete like ``POST /SalesOrders/{Guid}/Complete``; returns the order.

        With stock short the order stays as it was (Parked) with its stock allocated, and no
        exception is raised: read ``OrderStatus``.
        """
        with self.lock:
            order, _ = sales_orders.complete_order(self.state, guid)
            return copy.deepcopy(order)

    # --- webhooks and shutdown ------------------------------------------------------------------------
    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Block until queued webhook deliveries (and their retries) are done; False on timeout."""
        return self.webhooks.wait_idle(timeout)

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        return [d.as_dict() for d in list(self.webhooks.deliveries)]

    def simulate(self, rng: Any) -> str | None:
        """One step of everyday activity (see the ``activity`` module)."""
        from .activity import simulate_step

        return simulate_step(self, rng)

    def close(self) -> None:
        self.webhooks.close()

    # --- helpers --------------------------------------------------------------------------------------
    def _product_guid(self, ref: str) -> str:
        """A product Guid, or a product code for convenience."""
        if ref.lower() in self.state.products:
            return ref.lower()
        product = product_by_code(self.state, ref)
        if product is None:
            raise UnleashedError(404, f"Product '{ref}' was not found.")
        return product["Guid"]

    def _warehouse_guid(self, ref: str) -> str:
        """A warehouse Guid, or a warehouse code for convenience."""
        if ref.lower() in self.state.warehouses:
            return ref.lower()
        warehouse = find_by_code(self.state.warehouses, "WarehouseCode", ref)
        if warehouse is None:
            raise UnleashedError(404, f"Warehouse '{ref}' was not found.")
        return warehouse["Guid"]


__all__ = ["DEFAULT_OPTIONS", "UnleashedEmulator"]

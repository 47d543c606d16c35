"""Inventory records: one per product per outlet, ``inventory_level`` = ``current_amount``
(https://x-series-api.lightspeedhq.com/reference).

Direct sets are absolute (``PUT /api/2.1/products/{id}``, https://x-series-api.lightspeedhq.com/docs/inventory_updates);
sales move stock by deltas. Levels may go negative (the spec's /inventory example shows -10).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .errors import NotFound, Unprocessable
from .money import ZERO, to_decimal
from .store import StoreBase
from .versioned import Record


class InventoryOps(StoreBase):
    def require_product(self, product_id: Any) -> Record:
        product = self.products.get(product_id) if isinstance(product_id, str) else None
        if product is None:
            raise NotFound("product not found")
        return product

    def inventory_record(self, product_id: str, outlet_id: str) -> Record | None:
        inv_id = self.inventory_index.get((product_id, outlet_id))
        return self.inventory.get(inv_id) if inv_id else None

    def inventory_of(self, product_id: str) -> list[Record]:
        return [
            rec
            for outlet in self.outlets.values()
            if (rec := self.inventory_record(product_id, outlet["id"])) is not None
        ]

    def _new_inventory_record(
        self, product: Record, outlet_id: str, amount: Any | None, reorder_point: Any | None, reorder_amount: Any | None
    ) -> Record:
        level = to_decimal(amount, "current_amount") if amount is not None else ZERO
        record: Record = {
            "id": self.new_id(),
            "product_id": product["id"],
            "outlet_id": outlet_id,
            # https://x-series-api.lightspeedhq.com/reference: both names, same value (the
            # per-product example shows both).
            "inventory_level": level,
            "current_amount": level,
            "average_cost": product["supply_price"],
            "reorder_point": to_decimal(reorder_point) if reorder_point is not None else None,
            "reorder_amount": to_decimal(reorder_amount) if reorder_amount is not None else None,
            "deleted_at": None,
            "version": 0,
        }
        self.inventory_index[(product["id"], outlet_id)] = record["id"]
        self.save("inventory", record)
        if amount is not None and product["has_inventory"]:
            self.emit("inventory.update", record)
        return record

    # --- inventory ---------------------------------------------------------------------------
    def set_inventory(
        self,
        product_id: str,
        outlet_id: str,
        amount: Any | None,
        reorder_point: Any | None = None,
        reorder_amount: Any | None = None,
        *,
        clear_reorder_point: bool = False,
    ) -> Record:
        """Absolute set of an outlet's on-hand count (https://x-series-api.lightspeedhq.com/docs/inventory_updates). A
        no-op write keeps the version."""
        product = self.require("products", product_id, "product")
        if outlet_id not in self.outlets:
            raise Unprocessable(f"outlet {outlet_id} does not exist")
        record = self.inventory_record(product_id, outlet_id)
        if record is None:
            return self._new_inventory_record(product, outlet_id, amount, reorder_point, reorder_amount)
        changed = False
        if amount is not None:
            level = to_decimal(amount, "current_amount")
            if level != record["inventory_level"]:
                record["inventory_level"] = record["current_amount"] = level
                changed = True
        if clear_reorder_point and record["reorder_point"] is not None:
            record["reorder_point"] = None
            changed = True
        elif reorder_point is not None and to_decimal(reorder_point) != record["reorder_point"]:
            record["reorder_point"] = to_decimal(reorder_point)
            changed = True
        if reorder_amount is not None and to_decimal(reorder_amount) != record["reorder_amount"]:
            record["reorder_amount"] = to_decimal(reorder_amount)
            changed = True
        if changed:
            self.save("inventory", record)
            if product["has_inventory"]:
                # https://x-series-api.lightspeedhq.com/docs/webhooks: inventory.update is not fired for products
                # without inventory tracking.
                self.emit("inventory.update", record)
        return record

    def adjust_inventory(self, product_id: str, outlet_id: str, delta: Decimal) -> None:
        """Add ``delta`` (negative = stock taken); levels may go negative
        (https://x-series-api.lightspeedhq.com/reference example -10)."""
        if delta == 0:
            return
        product = self.require("products", product_id, "product")
        record = self.inventory_record(product_id, outlet_id)
        if record is None:
            record = self._new_inventory_record(product, outlet_id, None, None, None)
        level = record["inventory_level"] + delta
        record["inventory_level"] = record["current_amount"] = level
        self.save("inventory", record)
        if product["has_inventory"]:
            self.emit("inventory.update", record)

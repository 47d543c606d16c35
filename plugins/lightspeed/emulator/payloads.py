"""What a webhook's ``payload`` field carries.

The docs say payloads follow the API 1.0 representation and show a product example with
``base_name`` and ``inventory: [{id, product_id, outlet_id, count, attributed_cost,
reorder_point, restock_level}]`` with numbers partly as strings; the exact ``sale.update`` and
``inventory.update`` fields were not retrieved (https://x-series-api.lightspeedhq.com/docs/webhooks UNCERTAIN).
The emulator sends the 2.0 object (which carries the ids a receiver needs to re-read the record, the documented
advice) plus those 1.0 fields where the docs show them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .money import jsonable
from .state import LightspeedStore
from .versioned import Record


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _legacy_inventory(record: Record) -> dict[str, Any]:
    return {
        "id": record["id"],
        "product_id": record["product_id"],
        "outlet_id": record["outlet_id"],
        "count": _text(record["inventory_level"]),
        "attributed_cost": _text(record["average_cost"]),
        "reorder_point": _text(record["reorder_point"]),
        "restock_level": _text(record["reorder_amount"]),
    }


def payload_for(store: LightspeedStore, type_: str, record: Record) -> dict[str, Any]:
    payload: dict[str, Any] = jsonable(record)
    if type_ == "product.update":
        payload["base_name"] = record["name"]
        payload["inventory"] = [_legacy_inventory(r) for r in store.inventory_of(record["id"])]
    elif type_ == "inventory.update":
        legacy = _legacy_inventory(record)
        for key in ("count", "attributed_cost", "restock_level"):
            payload[key] = legacy[key]
        product = store.products.get(record["product_id"])
        if product is not None:
            payload["product"] = {
                key: product[key] for key in ("id", "name", "variant_name", "handle", "sku")
            }
    return payload

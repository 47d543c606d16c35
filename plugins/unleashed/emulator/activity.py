"""The warehouse's side of the store-activity simulator: deliveries and product edits."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any


def simulate_step(ul: Any, rng: random.Random) -> str | None:
    products = [p for p in ul.products() if p.get("ProductCode") != "DISCOUNT" and not p.get("Obsolete")]
    warehouses = ul.warehouses()
    if not products or not warehouses:
        return None
    product = rng.choice(products)
    if rng.random() < 0.1 or product.get("NeverDiminishing"):  # a non-stock product is never received
        ul.update_product(product["Guid"], Notes=f"checked {rng.randint(1, 9999)}")
        return f"edit {product['ProductCode']}"
    warehouse = rng.choice(warehouses)
    quantity = Decimal(rng.randint(5, 20))
    ul.receive_stock(product["Guid"], warehouse["Guid"], quantity)
    return f"receipt {product['ProductCode']} +{quantity} at {warehouse['WarehouseCode']}"

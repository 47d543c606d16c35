"""Unleashed's part of ``tillbridge demo``: stock arrives once the products exist."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def play(ul: Any, stage: str) -> None:
    if stage != "imported":
        return
    # After the first import (which took in the POS's opening stock), more stock is received
    # into every warehouse, except for the first product, so a sale of it can stay short.
    warehouses = ul.warehouses()
    products = [p for p in ul.products() if p.get("ProductCode") != "DISCOUNT" and not p.get("IsAssembledProduct")
                and not p.get("NeverDiminishing")]
    for i, product in enumerate(products):
        for warehouse in warehouses:
            if i == 0:
                continue
            ul.receive_stock(product["Guid"], warehouse["Guid"], Decimal(10 + (i % 7)))

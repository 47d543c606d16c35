"""Lightspeed's part of ``tillbridge demo``: a product Unleashed must refuse, and a day of tills."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# Unleashed limits ProductCode to 100 characters (shared/api-notes/unleashed.md §4.2).
TOO_LONG_CODE = "HAMPER-" + "DELUXE" * 19  # 121 characters: Lightspeed takes it, Unleashed refuses it


def play(ls: Any, stage: str) -> None:
    outlets = ls.outlets()
    products = [p for p in ls.products() if p.get("has_inventory", True) and not p.get("deleted_at")]
    customers = ls.customers()
    if stage == "seeded":
        ls.create_product("Deluxe gift hamper", TOO_LONG_CODE, Decimal("99.00"))
        for i, outlet in enumerate(outlets):
            a, b = products[(2 * i) % len(products)], products[(2 * i + 1) % len(products)]
            customer = customers[i % len(customers)]["id"] if customers else None
            sold = ls.ring_up_sale(outlet["id"], [_line(a, 2), _line(b, 1)], customer_id=customer)
            ls.ring_up_sale(outlet["id"], [_line(b, 1)])  # a walk-in sale: no customer
            ls.ring_up_sale(outlet["id"], [_line(a, 1, discount=Decimal("1.00"))], customer_id=customer)
            voided = ls.ring_up_sale(outlet["id"], [_line(a, 1)], customer_id=customer)
            ls.void_sale(voided["id"])
            if i == 0:
                ls.return_sale(sold["id"])
    elif stage == "imported":
        for i, outlet in enumerate(outlets):
            product = products[(5 + i) % len(products)]
            ls.ring_up_sale(outlet["id"], [_line(product, 1)])


def _line(product: dict[str, Any], quantity: int, discount: Decimal | None = None) -> dict[str, Any]:
    line = {"product_id": product["id"], "quantity": Decimal(quantity),
            "price": Decimal(str(product.get("price_excluding_tax") or "10"))}
    if discount is not None:
        line["discount"] = discount
    return line

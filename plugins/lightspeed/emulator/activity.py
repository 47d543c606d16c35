"""A day at the tills, one step at a time (the store-activity simulator's Lightspeed side)."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any


def simulate_step(ls: Any, rng: random.Random) -> str:
    """Mostly sales; now and then a price edit or a void, like a real shop floor."""
    roll = rng.random()
    products = [p for p in ls.products() if p.get("has_inventory", True) and p.get("sku") != "vend-discount"]
    outlets = ls.outlets()
    if roll < 0.08 and products:
        product = rng.choice(products)
        price = (Decimal(str(product["price_excluding_tax"])) * Decimal("1.05")).quantize(Decimal("0.01"))
        ls.update_product(product["id"], price_excluding_tax=price)
        return f"price {product['sku']} -> {price}"
    if roll < 0.11:
        closed = [s for s in ls.sales() if s.get("status") == "CLOSED" and not s.get("return_for")]
        if closed:
            sale = rng.choice(closed[-10:])
            ls.void_sale(sale["id"])
            return f"void {sale.get('invoice_number')}"
    lines = []
    for product in rng.sample(products, k=min(len(products), rng.randint(1, 3))):
        lines.append({"product_id": product["id"], "quantity": Decimal(rng.randint(1, 2)),
                      "price": Decimal(str(product["price_excluding_tax"]))})
    customers = ls.customers()
    customer = rng.choice(customers)["id"] if customers and rng.random() < 0.3 else None
    sale = ls.ring_up_sale(rng.choice(outlets)["id"], lines, customer_id=customer)
    return f"sale {sale.get('invoice_number')}"

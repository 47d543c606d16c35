"""Records the conformance suite pushes when a connector writes an entity type.

They reference nothing (no product, location or customer ids), so any target accepts them
without setup. Codes are distinctive so they never collide with seeded data. A connector whose
writes need references (sales, stock) supplies its own samples by overriding
``ConnectorConformance.push_sample``.
"""

from __future__ import annotations

from decimal import Decimal

from ..entities import Customer, Entity, Product

SAMPLE_CODE = "TBCONF-1"


def default_sample(entity_type: str) -> Entity | None:
    """A new record of ``entity_type`` to push, or ``None`` when there is no generic one."""
    if entity_type == "product":
        return Product(id="conformance-product-1", code=SAMPLE_CODE, description="Conformance test product",
                       sell_price=Decimal("12.50"), cost_price=Decimal("5.00"), notes="pushed twice on purpose")
    if entity_type == "customer":
        return Customer(id="conformance-customer-1", code=SAMPLE_CODE, name="Conformance Customer",
                        first_name="Conformance", last_name="Customer", email="conformance@example.com")
    return None


__all__ = ["SAMPLE_CODE", "default_sample"]

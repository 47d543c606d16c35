"""``LightspeedStore``: the state of one emulated retailer with all its operations."""

from __future__ import annotations

from .customers import CustomerOps
from .sales import SaleOps


class LightspeedStore(SaleOps, CustomerOps):
    """Collections plus product, inventory, customer and sale operations (not thread-safe on
    its own: ``LightspeedEmulator`` calls it under ``Emulator.lock``)."""

"""``LightspeedStore``: the state of one emulated retailer with all its operations."""

from __future__ import annotations

from .customers import CustomerOps
from .till import TillOps


class LightspeedStore(TillOps, CustomerOps):
    """Collections plus product, inventory, customer and sale operations (not thread-safe on
    its own: ``LightspeedEmulator`` calls it under ``Emulator.lock``)."""

"""``LightspeedStore``: the state of one emulated retailer with all its operations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .customers import CustomerOps
from .till import TillOps

if TYPE_CHECKING:
    from .consignments import Consignments


class LightspeedStore(TillOps, CustomerOps):
    """Collections plus product, inventory, customer and sale operations (not thread-safe on
    its own: ``LightspeedEmulator`` calls it under ``Emulator.lock``)."""

    _consignments: Consignments  # the store's book, made by ``consignments.book`` on first use

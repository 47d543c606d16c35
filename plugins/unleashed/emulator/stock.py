"""Stock on hand, allocations and auto-assembly.

https://apidocs.unleashedsoftware.com/StockOnHand,
https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction: AvailableQty =
on hand − allocated, and with ``isAssembled=true`` also what auto-assembly bills of materials could build from available
components. Bills can be multi-level and share components between levels, so the buildable
quantity is found by *simulating* builds on a copy of the available quantities (every unit built
really consumes its components, at every level); summing per-level maxima would count a shared
component twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from .state import ZERO, Movement, StockKey, UnleashedState

_MAX_DEPTH = 16  # a BOM cycle (A needs B needs A) can never build; stop instead of recursing
_MAX_UNITS = 1 << 40


# --- moving stock -------------------------------------------------------------------------------
def move(state: UnleashedState, product_guid: str, warehouse_guid: str, delta: Decimal, reason: str, reference: str) -> None:
    """Change on-hand quantity; the row becomes "modified" for ``modifiedSince``
    (https://apidocs.unleashedsoftware.com/StockOnHand)."""
    level = state.level(product_guid, warehouse_guid, create=True)
    assert level is not None
    now = state.now()
    level.on_hand += delta
    level.last_modified = now
    state.revision += 1
    state.ledger.append(Movement(now, product_guid, warehouse_guid, delta, reason, reference))
    state.emit("stockonhand.updated", {"productGuid": product_guid, "warehouseGuid": warehouse_guid})


def set_on_hand(state: UnleashedState, product_guid: str, warehouse_guid: str, quantity: Decimal, reason: str, reference: str) -> None:
    level = state.level(product_guid, warehouse_guid)
    current = level.on_hand if level else ZERO
    move(state, product_guid, warehouse_guid, quantity - current, reason, reference)


def allocate(state: UnleashedState, order_guid: str, quantities: dict[StockKey, Decimal]) -> None:
    """Hold stock for an order (AllocatedQty goes up; it may exceed on hand)."""
    release(state, order_guid)
    now = state.now()
    held: dict[StockKey, Decimal] = {}
    for key, qty in quantities.items():
        if qty <= 0:
            continue
        level = state.level(*key, create=True)
        assert level is not None
        level.allocated += qty
        level.last_modified = now
        state.revision += 1
        held[key] = qty
        state.emit("stockonhand.updated", {"productGuid": key[0], "warehouseGuid": key[1]})
    if held:
        state.order_allocations[order_guid] = held


def release(state: UnleashedState, order_guid: str) -> None:
    held = state.order_allocations.pop(order_guid, {})
    now = state.now()
    for key, qty in held.items():
        level = state.level(*key)
        if level is None:
            continue
        level.allocated -= qty
        level.last_modified = now
        state.revision += 1
        state.emit("stockonhand.updated", {"productGuid": key[0], "warehouseGuid": key[1]})


# --- the build simulation ----------------------------------------------------------------------
class Pool:
    """Available quantities in one warehouse, copy-on-write so trial builds are cheap to undo."""

    def __init__(self, state: UnleashedState, warehouse_guid: str, exclude_order: str | None = None) -> None:
        self._state = state
        self._warehouse = warehouse_guid
        self._own = state.order_allocations.get(exclude_order, {}) if exclude_order else {}
        self.changes: dict[str, Decimal] = {}

    def base(self, product_guid: str) -> Decimal:
        level = self._state.level(product_guid, self._warehouse)
        if level is None:
            return ZERO
        # An order being completed may use the stock it already holds.
        own = self._own.get((product_guid, self._warehouse), ZERO)
        return max(level.available + own, ZERO)

    def get(self, product_guid: str) -> Decimal:
        if product_guid in self.changes:
            return self.changes[product_guid]
        return self.base(product_guid)

    def put(self, product_guid: str, value: Decimal) -> None:
        self.changes[product_guid] = value

    def copy(self) -> "Pool":
        twin = Pool.__new__(Pool)
        twin._state, twin._warehouse, twin._own = self._state, self._warehouse, self._own
        twin.changes = dict(self.changes)
        return twin

    def adopt(self, other: "Pool") -> None:
        self.changes = other.changes

    def deltas(self) -> dict[str, Decimal]:
        """Net change per product relative to the warehouse's real availability."""
        return {p: v - self.base(p) for p, v in self.changes.items() if v != self.base(p)}


class Assembler:
    """Takes and builds products from a ``Pool``, auto-assembling shortfalls level by level."""

    def __init__(self, state: UnleashedState, pool: Pool) -> None:
        self.state = state
        self.pool = pool

    def take(self, product_guid: str, quantity: Decimal, depth: int = 0) -> bool:
        have = self.pool.get(product_guid)
        if have >= quantity:
            self.pool.put(product_guid, have - quantity)
            return True
        units = math.ceil(quantity - have)  # assemblies produce whole units
        if not self.build(product_guid, units, depth + 1):
            return False
        self.pool.put(product_guid, self.pool.get(product_guid) + units - quantity)
        return True

    def build(self, product_guid: str, units: int, depth: int = 0) -> bool:
        """Assemble ``units`` of an auto-assembly product from its components (in the pool)."""
        if depth > _MAX_DEPTH or units <= 0:
            return units <= 0
        bom = self.state.bom_for(product_guid, auto_assemble_only=True)
        if bom is None:
            return False
        for line in sorted(bom["BillOfMaterialsLines"], key=lambda ln: ln["LineNumber"]):
            per_unit = line["Quantity"] + (line.get("WastageQuantity") or ZERO)
            if not self.take(line["Product"]["Guid"], per_unit * units, depth):
                return False
        return True


def can_build(state: UnleashedState, product_guid: str, units: int, pool: Pool) -> bool:
    return Assembler(state, pool.copy()).build(product_guid, units)


def buildable(state: UnleashedState, product_guid: str, pool: Pool) -> int:
    """The most units of ``product_guid`` auto-assembly can build from ``pool`` (pool unchanged).

    Building n units in one simulated go is monotone in n (needs only grow), so the maximum is
    found by doubling then bisecting: deterministic and fast even for large stock.
    """
    if state.bom_for(product_guid, auto_assemble_only=True) is None or not can_build(state, product_guid, 1, pool):
        return 0
    good, bad = 1, 2
    while bad < _MAX_UNITS and can_build(state, product_guid, bad, pool):
        good, bad = bad, bad * 2
    while bad - good > 1:
        mid = (good + bad) // 2
        if can_build(state, product_guid, mid, pool):
            good = mid
        else:
            bad = mid
    return good


def available_with_assembly(state: UnleashedState, product_guid: str, warehouse_guid: str) -> Decimal:
    level = state.level(product_guid, warehouse_guid)
    own = level.available if level else ZERO
    return own + buildable(state, product_guid, Pool(state, warehouse_guid))


# --- consuming stock for an order ----------------------------------------------------------------
@dataclass
class Shortage:
    product_guid: str
    required: Decimal
    available: Decimal


def plan_consumption(
    state: UnleashedState, warehouse_guid: str, needs: Iterable[tuple[str, Decimal]], exclude_order: str | None
) -> tuple[dict[str, Decimal], list[Shortage]]:
    """Net on-hand change per product to supply ``needs``, or the shortages that prevent it.

    Each product first takes what is available directly; only the remainder is auto-assembled,
    so sold components are not consumed by a kit built for the same order first.
    """
    needs = list(needs)
    pool = Pool(state, warehouse_guid, exclude_order)
    shortfalls: list[tuple[str, Decimal]] = []
    for product_guid, qty in needs:
        have = pool.get(product_guid)
        direct = min(have, qty)
        pool.put(product_guid, have - direct)
        if qty > direct:
            shortfalls.append((product_guid, qty - direct))
    failed: list[str] = []
    for product_guid, short in shortfalls:
        trial = Assembler(state, pool.copy())
        if trial.take(product_guid, short):
            pool.adopt(trial.pool)
        else:
            failed.append(product_guid)
    if failed:
        fresh = Pool(state, warehouse_guid, exclude_order)
        required: dict[str, Decimal] = {}
        for product_guid, qty in needs:
            required[product_guid] = required.get(product_guid, ZERO) + qty
        shortages = [
            Shortage(p, required[p], fresh.get(p) + buildable(state, p, fresh)) for p in dict.fromkeys(failed)
        ]
        return {}, shortages
    return pool.deltas(), []

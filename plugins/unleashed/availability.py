"""Available stock, with what auto-assembly could build (the "include auto-assembled" switch).

Available = on hand − allocated. With the switch on, an auto-assembled product also counts the
kits its components could make. Bills of materials may nest (a kit of sub-assemblies), and one
component may appear at several levels: a build is simulated against one shared pool of
component stock, so a component is never counted twice (https://apidocs.unleashedsoftware.com/StockOnHand says
Unleashed's own AvailableQty with ``isAssembled=true`` adds "what can be assembled").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Mapping, Sequence

Bom = Mapping[str, Sequence[tuple[str, Decimal]]]
MAX_DEPTH = 10


def _consume(product: str, quantity: Decimal, boms: Bom, pool: dict[str, Decimal], depth: int, top: bool) -> bool:
    if not top:
        take = min(max(pool.get(product, Decimal(0)), Decimal(0)), quantity)
        pool[product] = pool.get(product, Decimal(0)) - take
        quantity -= take
    if quantity <= 0:
        return True
    lines = boms.get(product)
    if not lines or depth >= MAX_DEPTH:
        return False
    return all(_consume(component, quantity * per, boms, pool, depth + 1, False) for component, per in lines)


def can_build(kit: str, count: int, boms: Bom, pool: Mapping[str, Decimal]) -> bool:
    return _consume(kit, Decimal(count), boms, dict(pool), 0, True)


def buildable(kit: str, boms: Bom, pool: Mapping[str, Decimal]) -> int:
    """The most whole kits the pool could make (sub-assemblies in stock are used first)."""
    if not can_build(kit, 1, boms, pool):
        return 0
    low, high = 1, 2
    while can_build(kit, high, boms, pool):
        low, high = high, high * 2
        if high > 10_000_000:
            return low
    while high - low > 1:  # can_build(low) and not can_build(high)
        middle = (low + high) // 2
        if can_build(kit, middle, boms, pool):
            low = middle
        else:
            high = middle
    return low


def tree(kit: str, boms: Bom, depth: int = 0) -> set[str]:
    """Every product under ``kit`` in its bill of materials."""
    out: set[str] = set()
    if depth >= MAX_DEPTH:
        return out
    for component, _ in boms.get(kit, ()):
        out.add(component)
        out |= tree(component, boms, depth + 1)
    return out

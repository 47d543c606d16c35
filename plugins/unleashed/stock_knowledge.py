"""What the connector knows of Unleashed's available stock without asking for it.

A POS sale is created ``Completed`` in one call; when Unleashed has too little stock it refuses
that (the order is then created ``Parked`` and completed, which parks it with the stock
allocated: notes of the native integration,
https://support.unleashedsoftware.com/hc/en-us/articles/4402418310809). Knowing beforehand that
a sale is short saves the refused call. What we know comes from what the flows did anyway: the
stock-on-hand rows the stock export read, the opening stock we set, less what the orders we
completed since took. It is forgotten after :data:`FRESH_SECONDS` (stock received in Unleashed
meanwhile would make it wrong), and what we do not know counts as enough: a wrong guess costs a
refused call, never a sale parked that could have completed.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Iterable

#: How long a level learnt stays usable.
FRESH_SECONDS = 300.0
#: Only levels below this are kept: a sale of more from a level above it is rare, and not
#: knowing costs one refused call, while keeping every level of a large company costs memory.
LOW_STOCK = Decimal(50)
#: Most levels kept (about 270 bytes each with the product id: 50,000 are 13 MB). Beyond it the
#: oldest learnt is forgotten first: a large company's opening stock would otherwise keep every
#: level of every warehouse (200,000 at 20,000 products x 10 warehouses: 54 MB), and forgetting
#: costs at most one refused call for a sale that turns out short.
MAX_LEVELS = 50_000


#: Levels are mostly small whole numbers: those share one ``Decimal`` each (104 bytes apiece
#: otherwise, a third of what a level kept costs).
_WHOLE = {n: Decimal(n) for n in range(-100, int(LOW_STOCK))}


def _shared(value: Decimal) -> Decimal:
    if value == value.to_integral_value():
        return _WHOLE.get(int(value), value)
    return value


class StockKnowledge:
    def __init__(self, fresh_seconds: float = FRESH_SECONDS) -> None:
        self.fresh_seconds = fresh_seconds
        self._levels: dict[tuple[str, str], tuple[Decimal, float]] = {}
        self._lock = threading.Lock()

    def learn(self, product: str, warehouse: str, available: Decimal) -> None:
        with self._lock:
            if available >= LOW_STOCK:
                self._levels.pop((product, warehouse), None)  # plenty: as good as not known
                return
            self._levels.pop((product, warehouse), None)  # learnt again: now the newest
            self._levels[(product, warehouse)] = (_shared(available), time.monotonic())
            while len(self._levels) > MAX_LEVELS:
                del self._levels[next(iter(self._levels))]  # the oldest learnt

    def take(self, warehouse: str, needs: Iterable[tuple[str, Decimal]]) -> None:
        """An order completed: what it took is gone (levels not known stay unknown)."""
        with self._lock:
            for product, quantity in needs:
                known = self._levels.get((product, warehouse))
                if known is not None:
                    self._levels[(product, warehouse)] = (_shared(known[0] - quantity), known[1])

    def ran_short(self, warehouse: str, products: Iterable[str]) -> None:
        """An order of these products was parked for short stock: those not known are taken to
        have none left (the next sale of one is created Parked at once; completing it still
        completes it if the product was not the short one)."""
        now = time.monotonic()
        with self._lock:
            for product in products:
                self._levels.setdefault((product, warehouse), (_WHOLE[0], now))
            while len(self._levels) > MAX_LEVELS:
                del self._levels[next(iter(self._levels))]

    def short(self, warehouse: str, needs: Iterable[tuple[str, Decimal]]) -> list[str]:
        """Products known to have less available than ``needs`` asks for (unknown: enough)."""
        now = time.monotonic()
        out = []
        with self._lock:
            for product, quantity in needs:
                known = self._levels.get((product, warehouse))
                if known is not None and now - known[1] < self.fresh_seconds and known[0] < quantity:
                    out.append(product)
        return out

"""The store-activity simulator: tills selling, stock arriving, edits on both sides.

Vendor-free: it asks each running emulator for one step of its own everyday activity
(``Emulator.simulate``), in a seeded random order, so a run is repeatable.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Iterable

from .base import Emulator


class StoreActivity:
    """Drive ``emulators`` for ``steps`` steps, or in a background thread until stopped."""

    def __init__(self, emulators: Iterable[Emulator], seed: int = 1) -> None:
        self.emulators = [e for e in emulators]
        self.rng = random.Random(seed)
        self.happened: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> str | None:
        emulator = self.rng.choice(self.emulators)
        what = emulator.simulate(self.rng)
        if what:
            self.happened[f"{emulator.name}:{what.split(' ', 1)[0]}"] += 1
        return what

    def run(self, steps: int) -> list[str]:
        return [w for w in (self.step() for _ in range(steps)) if w]

    def start(self, interval: float = 0.05) -> "StoreActivity":
        def loop() -> None:
            while not self._stop.wait(interval):
                self.step()

        self._thread = threading.Thread(target=loop, name="store-activity", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

"""Emulator of Lightspeed Retail (X-Series) for tillbridge's tests, demo and benchmarks.

``LightspeedEmulator(seed=1, time_scale=1.0, faults=None, options=None)``; options are listed
in ``LightspeedOptions``. Serve it with ``tillbridge.emulation.BackgroundServer``.
"""

from __future__ import annotations

from .emulator import LightspeedEmulator
from .errors import StoreError
from .options import LightspeedOptions

__all__ = ["LightspeedEmulator", "LightspeedOptions", "StoreError"]

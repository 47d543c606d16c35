"""Offline emulators of the accounting providers: Xero and QuickBooks Online.

Both subclass ``tillbridge.emulation.Emulator``; run them with ``BackgroundServer`` and point a
client at the server URL (Xero: identity and API paths on the one host; QuickBooks: OAuth and
``/v3/company/{realmId}`` on the one host).
"""

from __future__ import annotations

from .qbo_emulator import QuickBooksEmulator
from .xero_emulator import XeroEmulator

__all__ = ["QuickBooksEmulator", "XeroEmulator"]

"""Offline emulators of the accounting providers: Xero and QuickBooks Online."""

from __future__ import annotations

from .xero_emulator import XeroEmulator

__all__ = ["XeroEmulator"]

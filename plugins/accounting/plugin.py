"""The accounting plugin: sales invoices to Xero or QuickBooks Online, exactly once.

Found through the ``tillbridge`` entry-point group. Enabled per connection with the
``accounting_invoice`` setting.
"""

from __future__ import annotations

from typing import Callable

from tillbridge import hookimpl


@hookimpl
def register_emulators(register: Callable[[type], None]) -> None:
    from .emulator import XeroEmulator

    register(XeroEmulator)

"""The built-in connectors pass the same conformance suite a third party's connector runs."""

from __future__ import annotations

import pytest

from tillbridge.testing import ConnectorConformance

ACCOUNTING_PUSH = (
    "invoices reach an accounting provider through the accounting plugin's outbox, which needs a "
    "connection's database and its accounting settings (switch, accounts, tax types); exactly-once "
    "sending is covered by the accounting plugin's own tests")


class TestLightspeedConformance(ConnectorConformance):
    system = "lightspeed"
    emulator_options = {"products": 8, "customers": 4, "sales": 4, "outlets": 2}


class TestUnleashedConformance(ConnectorConformance):
    system = "unleashed"
    emulator_options = {"products": 8, "customers": 4}


class TestXeroConformance(ConnectorConformance):
    system = "xero"
    page_size = 2  # Xero's tax rates are its only feed, and a short one

    def test_push_is_idempotent(self, tillbridge_conformance) -> None:  # type: ignore[no-untyped-def]
        pytest.skip(ACCOUNTING_PUSH)


class TestQuickBooksConformance(ConnectorConformance):
    system = "quickbooks"
    page_size = 1  # the emulated company has two tax codes, QuickBooks' only feed here

    def test_push_is_idempotent(self, tillbridge_conformance) -> None:  # type: ignore[no-untyped-def]
        pytest.skip(ACCOUNTING_PUSH)

"""The durable outbox of invoices: one row per inventory invoice and provider, kind ``invoice:<system>``.

A thin layer over the core's exactly-once outbox (:class:`tillbridge.Outbox`, whose docstring
gives the life of a row): rows are made from drafts, and in-doubt rows (an attempt committed, its
outcome never recorded) are looked up at the provider by invoice number before anything is sent
again, because idempotency keys expire (Xero's after about six minutes,
https://developer.xero.com/documentation/guides/idempotent-requests/idempotency).

Each commit is its own short transaction, independent of the runner's page commit: a crash after
the provider answered but before the runner bound the record finds the row ``sent`` next time and
sends nothing.
"""

from __future__ import annotations

import json
import uuid
from typing import Sequence

from tillbridge import ConnectionState, OutboxEntry

from .provider import DraftInvoice

__all__ = ["KEY_NAMESPACE", "InvoiceOutbox", "OutboxEntry"]

#: Namespace of the plugin's own deterministic request ids (QuickBooks customer creation); the
#: same uuid as the core outbox's idempotency keys, which the plugin's invoices used before.
KEY_NAMESPACE = uuid.UUID("0b7f8f3e-61c5-4cf4-9d1e-3c2a4b6e8f10")


class InvoiceOutbox:
    def __init__(self, state: ConnectionState, system: str) -> None:
        self.state = state
        self.kind = f"invoice:{system}"
        self.box = state.outbox(self.kind)

    def entries(self, record_keys: Sequence[str]) -> dict[str, OutboxEntry]:
        return self.box.entries(record_keys)

    def prepare(self, drafts: Sequence[DraftInvoice]) -> dict[str, OutboxEntry]:
        """Make sure every draft has a row; refresh the payload of rows not yet sent."""
        return self.box.add({d.source_id: json.loads(d.payload()) for d in drafts})

    def begin_attempt(self, record_keys: Sequence[str]) -> dict[str, str]:
        """Commit a new attempt for each record *before* the provider is called; return the keys."""
        return self.box.begin_attempt(record_keys)

    def mark_sent(self, record_key: str, target_id: str) -> None:
        self.box.mark_sent(record_key, target_id)

    def mark_failed(self, record_key: str, message: str) -> None:
        self.box.mark_failed(record_key, message)

    def mark_deferred(self, record_keys: Sequence[str], reason: str) -> None:
        self.box.mark_deferred(record_keys, reason)

    def counts(self) -> dict[str, int]:
        return self.box.counts()

    def sent_target_ids(self) -> set[str]:
        return self.box.sent_target_ids()

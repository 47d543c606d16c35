"""The durable outbox of invoices (core table ``outbox``): one row per inventory invoice and provider.

Row life: ``pending`` (known, not sent) → an attempt is *committed* (``attempts`` + 1, a fresh
idempotency key) → the provider is called → ``sent`` with the provider's id, or ``failed`` with
its message (a definite refusal), or ``deferred`` (the daily budget is spent). A row that has an
attempt but neither ``sent`` nor ``failed`` is *in doubt*: the process died, or the response was
lost, after the request may have been committed. In-doubt rows are looked up at the provider by
invoice number before anything is sent again, because idempotency keys expire (Xero's after
about six minutes, shared/api-notes/accounting-and-peers.md §A1 "Idempotency-Key").

Each commit is its own short transaction, independent of the runner's page commit: a crash after
the provider answered but before the runner bound the record finds the row ``sent`` next time and
sends nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import func, update
from sqlmodel import select

from tillbridge.storage.models import Outbox, now_utc
from tillbridge.storage.store import Store
from tillbridge.storage.upsert import upsert

from .provider import DraftInvoice

#: Namespace of idempotency keys: uuid5(NAMESPACE, "connection/kind/record/attempt").
KEY_NAMESPACE = uuid.UUID("0b7f8f3e-61c5-4cf4-9d1e-3c2a4b6e8f10")
STATUSES = ("pending", "sent", "failed", "deferred")


@dataclass(frozen=True)
class OutboxEntry:
    record_key: str
    status: str
    attempts: int
    target_id: str | None
    idempotency_key: str
    last_error: str | None

    @property
    def in_doubt(self) -> bool:
        """An attempt was made and its outcome never recorded."""
        return self.attempts > 0 and self.status not in ("sent", "failed")


def idempotency_key(connection_id: int, kind: str, record_key: str, attempt: int) -> str:
    """A key per attempt: an HTTP retry of the same attempt reuses it (the provider replays its
    answer); a deliberate new attempt (after a refusal was fixed) gets a new one, so a cached
    refusal is not replayed to it. 36 characters: fits Xero (128) and QuickBooks (50)."""
    return str(uuid.uuid5(KEY_NAMESPACE, f"{connection_id}/{kind}/{record_key}/{attempt}"))


class InvoiceOutbox:
    def __init__(self, store: Store, connection_id: int, system: str) -> None:
        self.store = store
        self.connection_id = connection_id
        self.kind = f"invoice:{system}"

    def _where(self, record_keys: Sequence[str] | None = None):  # type: ignore[no-untyped-def]
        clauses = [Outbox.connection_id == self.connection_id, Outbox.kind == self.kind]
        if record_keys is not None:
            clauses.append(Outbox.record_key.in_(list(record_keys)))  # type: ignore[attr-defined]
        return clauses

    def entries(self, record_keys: Sequence[str]) -> dict[str, OutboxEntry]:
        if not record_keys:
            return {}
        with self.store.session() as s:
            rows = s.exec(select(Outbox).where(*self._where(record_keys)))
            return {r.record_key: _entry(r) for r in rows}

    def prepare(self, drafts: Sequence[DraftInvoice]) -> dict[str, OutboxEntry]:
        """Make sure every draft has a row; refresh the payload of rows not yet sent."""
        if not drafts:
            return {}
        now = now_utc()
        with self.store.session() as s:
            upsert(s, Outbox, [
                {"connection_id": self.connection_id, "kind": self.kind, "record_key": d.source_id,
                 "idempotency_key": idempotency_key(self.connection_id, self.kind, d.source_id, 0),
                 "payload": d.payload(), "status": "pending", "attempts": 0, "created_at": now}
                for d in drafts
            ], conflict=["connection_id", "kind", "record_key"], update=[])
            for d in drafts:
                s.exec(update(Outbox).where(*self._where([d.source_id]), Outbox.status != "sent")  # type: ignore[call-overload]
                       .values(payload=d.payload()))
            s.commit()
        return self.entries([d.source_id for d in drafts])

    def begin_attempt(self, record_keys: Sequence[str]) -> dict[str, str]:
        """Commit a new attempt for each record *before* the provider is called; return the keys."""
        keys: dict[str, str] = {}
        with self.store.session() as s:
            for row in s.exec(select(Outbox).where(*self._where(record_keys))):
                row.attempts += 1
                row.idempotency_key = idempotency_key(self.connection_id, self.kind, row.record_key, row.attempts)
                row.status = "pending"
                keys[row.record_key] = row.idempotency_key
                s.add(row)
            s.commit()
        return keys

    def mark_sent(self, record_key: str, target_id: str) -> None:
        self._set([record_key], status="sent", target_id=target_id, sent_at=now_utc(), last_error=None)

    def mark_failed(self, record_key: str, message: str) -> None:
        self._set([record_key], status="failed", last_error=message[:4000])

    def mark_deferred(self, record_keys: Sequence[str], reason: str) -> None:
        self._set(record_keys, status="deferred", last_error=reason[:4000])

    def _set(self, record_keys: Sequence[str], **values: object) -> None:
        if not record_keys:
            return
        with self.store.session() as s:
            s.exec(update(Outbox).where(*self._where(record_keys), Outbox.status != "sent")  # type: ignore[call-overload]
                   .values(**values))
            s.commit()

    def counts(self) -> dict[str, int]:
        with self.store.session() as s:
            rows = s.exec(select(Outbox.status, func.count()).where(*self._where()).group_by(Outbox.status))
            found = {status: int(n) for status, n in rows}
        return {status: found.get(status, 0) for status in STATUSES}

    def sent_target_ids(self) -> set[str]:
        with self.store.session() as s:
            rows = s.exec(select(Outbox.target_id).where(*self._where(), Outbox.status == "sent"))
            return {r for r in rows if r}


def _entry(row: Outbox) -> OutboxEntry:
    return OutboxEntry(row.record_key, row.status, row.attempts, row.target_id, row.idempotency_key, row.last_error)

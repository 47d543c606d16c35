"""Durable per-connection state for plugins: values, named locks and an exactly-once outbox.

A plugin that must remember something between runs (a provider's last seen API budget), write
something during a push that must survive a crash (an outbox row committed *before* a remote
call), or keep two processes from doing one thing at once (rotating an OAuth refresh token)
gets a :class:`ConnectionState`: ``ConnectorContext.state`` in a connector, or one built for a
connection elsewhere. Every write is its own short committed transaction, independent of the
runner's page commit, so what it says is true even if the process dies right after.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from sqlalchemy import ColumnElement, delete, func, update
from sqlmodel import col, select

from .locks import StateLock
from .storage.models import Outbox as OutboxRow
from .storage.models import StateValue, now_utc
from .storage.upsert import upsert

if TYPE_CHECKING:
    from .storage.store import Store

#: Namespace of outbox idempotency keys: uuid5(NAMESPACE, "connection/kind/record/attempt").
OUTBOX_KEY_NAMESPACE = uuid.UUID("0b7f8f3e-61c5-4cf4-9d1e-3c2a4b6e8f10")
#: The life of an outbox row (see :class:`Outbox`).
OUTBOX_STATUSES = ("pending", "sent", "failed", "deferred")
#: Longest ``last_error`` kept.
MAX_ERROR = 4000


class ConnectionState:
    """One plugin's durable state for one connection.

    :param store: the app's store (``app.store``); the core builds these, plugins receive them.
    :param connection_id: the connection's id.
    :param connection: the connection's name (for messages).
    :param namespace: whose values these are: a connector's system name for the state in its
        ``ConnectorContext``, a plugin's name elsewhere. Values and locks of two namespaces, or of
        two connections, never meet. (Outbox kinds are per connection: name yours after your plugin.)
    """

    def __init__(self, store: Store, connection_id: int, connection: str, namespace: str) -> None:
        if not namespace:
            raise ValueError("a ConnectionState needs a namespace")
        self.store = store
        self.connection_id = connection_id
        self.connection = connection
        self.namespace = namespace

    def __repr__(self) -> str:
        return f"ConnectionState({self.connection!r}, namespace={self.namespace!r})"

    # --- values ---------------------------------------------------------------------------------------
    def _where(self, key: str) -> tuple[ColumnElement[bool], ...]:
        return (col(StateValue.connection_id) == self.connection_id, col(StateValue.namespace) == self.namespace,
                col(StateValue.key) == key)

    def get(self, key: str, default: Any = None) -> Any:
        """The JSON value stored under ``key``, or ``default``."""
        with self.store.session() as s:
            row = s.exec(select(StateValue.value).where(*self._where(key))).first()
        return default if row is None else json.loads(row)

    def set(self, key: str, value: Any) -> None:
        """Store a JSON value (a dict, list, str, number, bool or None), committed at once."""
        text = json.dumps(value, sort_keys=True)
        with self.store.session() as s:
            upsert(s, StateValue, {"connection_id": self.connection_id, "namespace": self.namespace, "key": key,
                                   "value": text, "updated_at": now_utc()},
                   conflict=["connection_id", "namespace", "key"], update=["value", "updated_at"])
            s.commit()

    def delete(self, key: str) -> bool:
        """Forget ``key``; ``True`` if it was there."""
        with self.store.session() as s:
            done = s.exec(delete(StateValue).where(*self._where(key)))
            s.commit()
        return bool(done.rowcount)

    def settings(self) -> dict[str, Any]:
        """The connection's settings as stored right now, not a runtime's snapshot: a switch turned
        off in another process (the CLI) is seen by the next call."""
        return self.store.settings(self.connection_id)

    def credentials(self, system: str) -> dict[str, Any]:
        """``system``'s credentials for this connection as stored right now (decrypted; ``{}`` when
        none): what another worker saved after rotating a refresh token, re-read under :meth:`lock`."""
        return self.store.credentials(self.connection_id, system)

    # --- coordination -------------------------------------------------------------------------------
    def lock(self, name: str) -> StateLock:
        """A lock named ``name`` that every thread and process on this database shares.

        ``with state.lock("token refresh"): ...``; the object can be kept and entered repeatedly,
        and ``acquire(timeout=seconds)`` waits at most that long. On PostgreSQL it is an advisory
        lock, on a SQLite file an ``flock`` beside the database; a process that dies loses it."""
        return StateLock(self.store.engine, self.connection_id, self.namespace, name)

    def outbox(self, kind: str) -> Outbox:
        """The outbox rows of ``kind`` (e.g. ``"invoice:xero"``) of this connection."""
        return Outbox(self, kind)


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row as stored. ``payload`` is the JSON value given to :meth:`Outbox.add`."""

    record_key: str
    status: str
    attempts: int
    target_id: str | None
    idempotency_key: str
    last_error: str | None
    payload: Any = None
    created_at: datetime | None = None
    sent_at: datetime | None = None

    @property
    def in_doubt(self) -> bool:
        """An attempt was made and its outcome never recorded: the remote may hold the write."""
        return self.attempts > 0 and self.status not in ("sent", "failed")


class Outbox:
    """Remote writes that must happen exactly once, one row per record key (core table ``outbox``).

    Row life: ``pending`` (known, not sent) → :meth:`begin_attempt` *commits* a new attempt
    (``attempts`` + 1, a fresh idempotency key) → the remote is called → :meth:`mark_sent` with
    the remote's id, :meth:`mark_failed` (a definite refusal) or :meth:`mark_deferred` (try later).
    A row with an attempt but neither ``sent`` nor ``failed`` is *in doubt*
    (:attr:`OutboxEntry.in_doubt`): the process died, or the answer was lost, after the remote may
    have made the write. Look such records up at the remote before sending again; an idempotency
    key alone is not enough, since remotes forget them after a while. A ``sent`` row is final:
    no mark changes it, and :meth:`add` no longer refreshes its payload.
    """

    def __init__(self, state: ConnectionState, kind: str) -> None:
        self.state = state
        self.kind = kind

    def _where(self, record_keys: Sequence[str] | None = None) -> list[ColumnElement[bool]]:
        clauses = [col(OutboxRow.connection_id) == self.state.connection_id, col(OutboxRow.kind) == self.kind]
        if record_keys is not None:
            clauses.append(col(OutboxRow.record_key).in_(list(record_keys)))
        return clauses

    def idempotency_key(self, record_key: str, attempt: int) -> str:
        """The key of one attempt: an HTTP retry of the same attempt reuses it (the remote replays
        its answer); a deliberate new attempt (after a refusal was fixed) gets a new one, so a
        cached refusal is not replayed to it. 36 characters: fits Xero (128) and QuickBooks (50)."""
        name = f"{self.state.connection_id}/{self.kind}/{record_key}/{attempt}"
        return str(uuid.uuid5(OUTBOX_KEY_NAMESPACE, name))

    # --- reading ------------------------------------------------------------------------------------
    def entries(self, record_keys: Sequence[str] | None = None, *, created_since: datetime | None = None,
                status: str | None = None) -> dict[str, OutboxEntry]:
        """Rows by record key, oldest first: of ``record_keys`` (``None``: all of this kind), made
        at or after ``created_since``, with ``status``."""
        if record_keys is not None and not record_keys:
            return {}
        clauses = self._where(record_keys)
        if created_since is not None:
            clauses.append(col(OutboxRow.created_at) >= created_since)
        if status is not None:
            clauses.append(col(OutboxRow.status) == status)
        with self.state.store.session() as s:
            rows = s.exec(select(OutboxRow).where(*clauses).order_by(col(OutboxRow.id)))
            return {r.record_key: _entry(r) for r in rows}

    def counts(self) -> dict[str, int]:
        """Rows per status, every status named (0 when none)."""
        with self.state.store.session() as s:
            rows = s.exec(select(OutboxRow.status, func.count()).where(*self._where()).group_by(OutboxRow.status))
            found = {status: int(n) for status, n in rows}
        return {status: found.get(status, 0) for status in OUTBOX_STATUSES}

    def sent_target_ids(self) -> set[str]:
        """The remote ids of every record sent."""
        with self.state.store.session() as s:
            rows = s.exec(select(OutboxRow.target_id).where(*self._where(), OutboxRow.status == "sent"))
            return {r for r in rows if r}

    # --- writing (each call commits) ---------------------------------------------------------------
    def add(self, payloads: Mapping[str, Any]) -> dict[str, OutboxEntry]:
        """Make sure every record key has a row (``pending``, no attempt); refresh the payload (a JSON
        value) of rows not yet sent. Returns the rows of these keys."""
        if not payloads:
            return {}
        now = now_utc()
        texts = {key: json.dumps(payload, sort_keys=True, default=str) for key, payload in payloads.items()}
        with self.state.store.session() as s:
            upsert(s, OutboxRow, [
                {"connection_id": self.state.connection_id, "kind": self.kind, "record_key": key,
                 "idempotency_key": self.idempotency_key(key, 0), "payload": text, "status": "pending",
                 "attempts": 0, "created_at": now}
                for key, text in texts.items()
            ], conflict=["connection_id", "kind", "record_key"], update=[])
            for key, text in texts.items():
                s.exec(update(OutboxRow).where(*self._where([key]), col(OutboxRow.status) != "sent")
                       .values(payload=text))
            s.commit()
        return self.entries(list(payloads))

    def begin_attempt(self, record_keys: Sequence[str]) -> dict[str, str]:
        """Commit a new attempt of each record *before* the remote is called; returns the
        idempotency key of each to send with it."""
        keys: dict[str, str] = {}
        with self.state.store.session() as s:
            for row in s.exec(select(OutboxRow).where(*self._where(record_keys))):
                row.attempts += 1
                row.idempotency_key = self.idempotency_key(row.record_key, row.attempts)
                row.status = "pending"
                keys[row.record_key] = row.idempotency_key
                s.add(row)
            s.commit()
        return keys

    def mark_sent(self, record_key: str, target_id: str) -> None:
        """The remote holds the record as ``target_id``: final."""
        self._set([record_key], status="sent", target_id=target_id, sent_at=now_utc(), last_error=None)

    def mark_failed(self, record_key: str, message: str) -> None:
        """The remote refused the record; a later :meth:`begin_attempt` may try again."""
        self._set([record_key], status="failed", last_error=message[:MAX_ERROR])

    def mark_deferred(self, record_keys: Sequence[str], reason: str) -> None:
        """Not sent now (a quota is spent): the rows keep their attempts, so they stay in doubt."""
        self._set(record_keys, status="deferred", last_error=reason[:MAX_ERROR])

    def _set(self, record_keys: Sequence[str], **values: object) -> None:
        if not record_keys:
            return
        with self.state.store.session() as s:
            s.exec(update(OutboxRow).where(*self._where(record_keys), col(OutboxRow.status) != "sent")
                   .values(**values))
            s.commit()


def _entry(row: OutboxRow) -> OutboxEntry:
    return OutboxEntry(row.record_key, row.status, row.attempts, row.target_id, row.idempotency_key,
                       row.last_error, json.loads(row.payload), row.created_at, row.sent_at)


__all__ = ["ConnectionState", "Outbox", "OutboxEntry"]

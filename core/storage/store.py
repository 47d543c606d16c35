"""Repository functions over the tables. Each takes the session it works in, so the runner can
commit a page's writes, bindings, log lines and cursor together."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterable, Sequence

from sqlalchemy import delete, func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ..crypto import SecretBox
from ..errors import ConfigError, CredentialsUnreadable, UnknownConnection
from .db import session as new_session
from .models import (
    Binding,
    Connection,
    ConnectionSystem,
    Credential,
    Cursor,
    HeldQuantity,
    KnownLocation,
    LocationMap,
    LogEntry,
    Setting,
    SyncRun,
    now_utc,
)
from .upsert import upsert


@dataclass(frozen=True)
class SystemRef:
    role: str
    system: str
    base_url: str


class Store:
    """Storage for one database. Thread-safe: every call opens its own session or takes one."""

    def __init__(self, engine: Engine, box: SecretBox) -> None:
        self.engine = engine
        self.box = box

    def session(self) -> Session:
        return new_session(self.engine)

    # --- connections ---------------------------------------------------------------------------
    def create_connection(self, name: str, systems: dict[str, tuple[str, str]] | None = None) -> Connection:
        """A new connection with its systems (role → (system, base URL)), saved together or not at all."""
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(
                f"connection name {name!r} is not allowed",
                fix="use letters, digits, '-' or '_' (e.g. main-store)",
            )
        with self.session() as s:
            conn = Connection(name=name)
            s.add(conn)
            try:
                s.flush()
                assert conn.id is not None  # the flush gave it one
                for role, (system, base_url) in (systems or {}).items():
                    s.add(ConnectionSystem(connection_id=conn.id, role=role, system=system, base_url=base_url))
                s.commit()
            except IntegrityError:
                raise ConfigError(f"a connection named {name!r} already exists",
                                  fix="pick another name or use that one") from None
            s.refresh(conn)
            return conn

    def delete_connection(self, name: str) -> bool:
        """Remove a connection and everything recorded for it."""
        from .models import Outbox, StateValue, WebhookDelivery

        with self.session() as s:
            conn = s.exec(select(Connection).where(Connection.name == name)).first()
            if conn is None:
                return False
            for model in (Binding, Cursor, SyncRun, LogEntry, HeldQuantity, Outbox, StateValue, WebhookDelivery,
                          LocationMap, KnownLocation, Setting, Credential, ConnectionSystem):
                s.exec(delete(model).where(col(model.connection_id) == conn.id))
            s.delete(conn)
            s.commit()
            return True

    def connection(self, name: str) -> Connection:
        with self.session() as s:
            conn = s.exec(select(Connection).where(Connection.name == name)).first()
        if conn is None:
            known = ", ".join(c.name for c in self.connections()) or "none yet"
            raise UnknownConnection(
                f"there is no connection named {name!r} (known: {known})",
                fix="see `tillbridge connections list`, or create one with `tillbridge connections add`",
            )
        return conn

    def connections(self) -> list[Connection]:
        with self.session() as s:
            return list(s.exec(select(Connection).order_by(Connection.name)))

    def set_system(self, connection_id: int, role: str, system: str, base_url: str) -> None:
        with self.session() as s:
            upsert(s, ConnectionSystem,
                   {"connection_id": connection_id, "role": role, "system": system, "base_url": base_url},
                   conflict=["connection_id", "role"], update=["system", "base_url"])
            s.commit()

    def remove_system(self, connection_id: int, role: str) -> None:
        with self.session() as s:
            s.exec(delete(ConnectionSystem).where(col(ConnectionSystem.connection_id) == connection_id,
                                                  col(ConnectionSystem.role) == role))
            s.commit()

    def systems(self, connection_id: int) -> dict[str, SystemRef]:
        with self.session() as s:
            rows = s.exec(select(ConnectionSystem).where(ConnectionSystem.connection_id == connection_id))
            return {r.role: SystemRef(r.role, r.system, r.base_url) for r in rows}

    # --- credentials ---------------------------------------------------------------------------
    def save_credentials(self, connection_id: int, system: str, values: dict[str, Any]) -> None:
        with self.session() as s:
            upsert(s, Credential,
                   {"connection_id": connection_id, "system": system, "ciphertext": self.box.seal(values),
                    "updated_at": now_utc()},
                   conflict=["connection_id", "system"], update=["ciphertext", "updated_at"])
            s.commit()

    def credentials(self, connection_id: int, system: str) -> dict[str, Any]:
        with self.session() as s:
            row = s.exec(select(Credential).where(Credential.connection_id == connection_id,
                                                  Credential.system == system)).first()
            conn = s.get(Connection, connection_id) if row else None
            name = conn.name if conn else ""
        if row is None:
            return {}
        try:
            return self.box.open(row.ciphertext)
        except CredentialsUnreadable:
            raise CredentialsUnreadable(
                f"the saved {system} credentials of connection {name!r} cannot be read with the key from "
                f"{self.box.source} (the key they were saved with was lost or replaced)",
                fix=f"restore that key from your backup, or connect again: `tillbridge connect {system} -c {name}` "
                "(the connection's mappings, settings and history are kept)",
            ) from None

    # --- settings ------------------------------------------------------------------------------
    def settings(self, connection_id: int) -> dict[str, Any]:
        with self.session() as s:
            rows = s.exec(select(Setting).where(Setting.connection_id == connection_id))
            return {r.name: json.loads(r.value) for r in rows}

    def set_settings(self, connection_id: int, values: dict[str, Any]) -> None:
        with self.session() as s:
            for name, value in values.items():
                upsert(s, Setting, {"connection_id": connection_id, "name": name, "value": json.dumps(value)},
                       conflict=["connection_id", "name"], update=["value"])
            s.commit()

    # --- locations -----------------------------------------------------------------------------
    def replace_known_locations(self, connection_id: int, system: str, kind: str,
                                locations: Iterable[tuple[str, str, str | None]]) -> int:
        rows = [
            {"connection_id": connection_id, "system": system, "kind": kind, "location_id": lid,
             "name": name, "code": code, "loaded_at": now_utc()}
            for lid, name, code in locations
        ]
        with self.session() as s:
            s.exec(delete(KnownLocation).where(col(KnownLocation.connection_id) == connection_id,
                                               col(KnownLocation.system) == system))
            if rows:
                upsert(s, KnownLocation, rows, conflict=["connection_id", "system", "location_id"],
                       update=["name", "code", "kind", "loaded_at"])
            s.commit()
        return len(rows)

    def known_locations(self, connection_id: int, kind: str | None = None) -> list[KnownLocation]:
        with self.session() as s:
            q = select(KnownLocation).where(KnownLocation.connection_id == connection_id)
            if kind:
                q = q.where(KnownLocation.kind == kind)
            return list(s.exec(q.order_by(KnownLocation.name)))

    def map_location(self, connection_id: int, outlet_id: str, warehouse_id: str) -> None:
        """Map an outlet to a warehouse; refuse a warehouse another outlet holds."""
        with self.session() as s:
            holder = s.exec(select(LocationMap).where(LocationMap.connection_id == connection_id,
                                                      LocationMap.warehouse_id == warehouse_id)).first()
            if holder is not None and holder.outlet_id != outlet_id:
                raise ConfigError(
                    f"warehouse {self._location_label(s, connection_id, warehouse_id)} is already mapped to "
                    f"outlet {self._location_label(s, connection_id, holder.outlet_id)}",
                    fix="one outlet per warehouse: unmap that outlet first, or pick another warehouse",
                )
            s.exec(delete(LocationMap).where(col(LocationMap.connection_id) == connection_id,
                                             col(LocationMap.outlet_id) == outlet_id))
            s.add(LocationMap(connection_id=connection_id, outlet_id=outlet_id, warehouse_id=warehouse_id))
            try:
                s.commit()
            except IntegrityError:  # a concurrent mapping won the race; the constraint holds the rule
                raise ConfigError(f"warehouse {warehouse_id} was just mapped to another outlet") from None

    def _location_label(self, s: Session, connection_id: int, location_id: str) -> str:
        row = s.exec(select(KnownLocation).where(KnownLocation.connection_id == connection_id,
                                                 KnownLocation.location_id == location_id)).first()
        return f"{row.name!r} ({location_id})" if row else repr(location_id)

    def unmap_location(self, connection_id: int, outlet_id: str) -> bool:
        with self.session() as s:
            result = s.exec(delete(LocationMap).where(col(LocationMap.connection_id) == connection_id,
                                                      col(LocationMap.outlet_id) == outlet_id))
            s.commit()
            return bool(result.rowcount)

    def location_map(self, connection_id: int) -> dict[str, str]:
        """outlet id → warehouse id."""
        with self.session() as s:
            rows = s.exec(select(LocationMap).where(LocationMap.connection_id == connection_id))
            return {r.outlet_id: r.warehouse_id for r in rows}

    # --- bindings ------------------------------------------------------------------------------
    def bindings(self, s: Session, connection_id: int, entity_type: str, source_system: str,
                 target_system: str, source_ids: Sequence[str]) -> dict[str, Binding]:
        """Bindings of many source records at once (one query per page, not per record)."""
        if not source_ids:
            return {}
        out: dict[str, Binding] = {}
        for chunk in _chunks(list(dict.fromkeys(source_ids)), 500):
            rows = s.exec(select(Binding).where(
                Binding.connection_id == connection_id, Binding.entity_type == entity_type,
                Binding.source_system == source_system, Binding.target_system == target_system,
                col(Binding.source_id).in_(chunk)))
            out.update({r.source_id: r for r in rows})
        return out

    def resolve_ids(self, s: Session, connection_id: int, entity_type: str, from_system: str,
                    to_system: str, ids: Sequence[str]) -> dict[str, str]:
        """Translate ids of ``from_system`` to ``to_system`` through bindings made in either direction."""
        wanted = list(dict.fromkeys(ids))
        out: dict[str, str] = {}
        for chunk in _chunks(wanted, 500):
            forward = s.exec(select(Binding.source_id, Binding.target_id).where(
                Binding.connection_id == connection_id, Binding.entity_type == entity_type,
                Binding.source_system == from_system, Binding.target_system == to_system,
                col(Binding.source_id).in_(chunk)))
            out.update(dict(forward.all()))
            missing = [i for i in chunk if i not in out]
            if missing:
                backward = s.exec(select(Binding.target_id, Binding.source_id).where(
                    Binding.connection_id == connection_id, Binding.entity_type == entity_type,
                    Binding.source_system == to_system, Binding.target_system == from_system,
                    col(Binding.target_id).in_(missing)))
                out.update(dict(backward.all()))
        return out

    def reverse_bindings(self, s: Session, connection_id: int, entity_type: str, source_system: str,
                         target_system: str, ids: Sequence[str]) -> dict[str, Binding]:
        """Bindings made in the other direction whose *target* is one of ``ids`` (records we wrote)."""
        out: dict[str, Binding] = {}
        for chunk in _chunks(list(dict.fromkeys(ids)), 500):
            rows = s.exec(select(Binding).where(
                Binding.connection_id == connection_id, Binding.entity_type == entity_type,
                Binding.source_system == target_system, Binding.target_system == source_system,
                col(Binding.target_id).in_(chunk)))
            out.update({r.target_id: r for r in rows})
        return out

    def save_bindings(self, s: Session, rows: list[dict[str, Any]]) -> None:
        for chunk in _chunks(rows, 200):
            upsert(s, Binding, [{"target_fingerprint": None, **r, "updated_at": now_utc()} for r in chunk],
                   conflict=["connection_id", "entity_type", "source_system", "source_id", "target_system"],
                   update=["target_id", "fingerprint", "target_fingerprint", "source_key", "updated_at"])

    def touch_reverse_fingerprints(self, s: Session, connection_id: int, entity_type: str,
                                   fingerprints: dict[int, tuple[str, str | None]]) -> None:
        """After a write against a binding made in the other direction: binding id →
        (its source side's content now, its target side's content now)."""
        for binding_id, (fp, target_fp) in fingerprints.items():
            s.exec(update(Binding).where(col(Binding.id) == binding_id)
                   .values(fingerprint=fp, target_fingerprint=target_fp))

    def binding_count(self, connection_id: int, entity_type: str | None = None) -> int:
        with self.session() as s:
            q = select(func.count()).select_from(Binding).where(Binding.connection_id == connection_id)
            if entity_type:
                q = q.where(Binding.entity_type == entity_type)
            return int(s.exec(q).one())

    # --- cursors -------------------------------------------------------------------------------
    def cursor(self, connection_id: int, flow: str) -> str | None:
        with self.session() as s:
            row = s.exec(select(Cursor).where(Cursor.connection_id == connection_id, Cursor.flow == flow)).first()
            return row.value if row else None

    def set_cursor(self, s: Session, connection_id: int, flow: str, value: str | None) -> None:
        upsert(s, Cursor, {"connection_id": connection_id, "flow": flow, "value": value, "updated_at": now_utc()},
               conflict=["connection_id", "flow"], update=["value", "updated_at"])

    def reset_cursor(self, connection_id: int, flow: str) -> None:
        with self.session() as s:
            s.exec(delete(Cursor).where(col(Cursor.connection_id) == connection_id, col(Cursor.flow) == flow))
            s.commit()

    # --- runs ----------------------------------------------------------------------------------
    def start_run(self, connection_id: int, flow: str, trigger: str) -> SyncRun:
        with self.session() as s:
            run = SyncRun(connection_id=connection_id, flow=flow, trigger=trigger)
            s.add(run)
            s.commit()
            s.refresh(run)
            return run

    def finish_run(self, run: SyncRun, status: str, error: str | None = None) -> None:
        run.finished_at = now_utc()
        run.status = status
        run.error = error
        with self.session() as s:
            s.merge(run)
            s.commit()

    def last_runs(self, connection_id: int) -> dict[str, SyncRun]:
        """The latest run of each flow of a connection."""
        with self.session() as s:
            latest = (select(SyncRun.flow, func.max(SyncRun.id).label("id"))
                      .where(SyncRun.connection_id == connection_id).group_by(SyncRun.flow).subquery())
            rows = s.exec(select(SyncRun).join(latest, col(SyncRun.id) == latest.c.id))
            return {r.flow: r for r in rows}

    def last_success(self, connection_id: int, flow: str) -> datetime | None:
        with self.session() as s:
            return s.exec(select(func.max(SyncRun.finished_at)).where(
                SyncRun.connection_id == connection_id, SyncRun.flow == flow,
                SyncRun.status == "ok")).one()

    # --- the connection log ----------------------------------------------------------------------
    def log(self, s: Session, connection_id: int, level: str, message: str, *, flow: str | None = None,
            entity_type: str | None = None, direction: str | None = None, record_key: str | None = None,
            source_id: str | None = None, fix: str | None = None, category: str | None = None) -> None:
        """Add a log line; a record that fails again updates its open entry instead of adding one."""
        if source_id and category in {"failed", "held"}:
            open_entry = s.exec(select(LogEntry).where(
                LogEntry.connection_id == connection_id, LogEntry.flow == flow,
                LogEntry.source_id == source_id, col(LogEntry.resolved_at).is_(None),
                col(LogEntry.category).in_(("failed", "held")))).first()
            if open_entry is not None:
                open_entry.attempts += 1
                open_entry.message, open_entry.fix, open_entry.level = message, fix, level
                open_entry.category, open_entry.created_at = category, now_utc()
                open_entry.record_key = record_key or open_entry.record_key
                s.add(open_entry)
                return
        s.add(LogEntry(connection_id=connection_id, level=level, message=message, flow=flow,
                       entity_type=entity_type, direction=direction, record_key=record_key,
                       source_id=source_id, fix=fix, category=category))

    def resolve_log(self, s: Session, connection_id: int, flow: str, source_ids: Sequence[str]) -> None:
        for chunk in _chunks(list(source_ids), 500):
            s.exec(update(LogEntry).where(
                col(LogEntry.connection_id) == connection_id, col(LogEntry.flow) == flow,
                col(LogEntry.source_id).in_(chunk), col(LogEntry.resolved_at).is_(None),
                col(LogEntry.category).in_(("failed", "held"))).values(resolved_at=now_utc()))

    def log_entries(self, connection_id: int, *, levels: Sequence[str] | None = None, entity_type: str | None = None,
                    since: datetime | None = None, open_only: bool = False, flow: str | None = None,
                    record: str | None = None, limit: int = 200) -> list[LogEntry]:
        with self.session() as s:
            q = select(LogEntry).where(LogEntry.connection_id == connection_id)
            if levels:
                q = q.where(col(LogEntry.level).in_(levels))
            if entity_type:
                q = q.where(LogEntry.entity_type == entity_type)
            if since:
                q = q.where(LogEntry.created_at >= since)
            if flow:
                q = q.where(LogEntry.flow == flow)
            if record:
                q = q.where(or_(col(LogEntry.record_key) == record, col(LogEntry.source_id) == record))
            if open_only:
                q = q.where(col(LogEntry.resolved_at).is_(None),
                            col(LogEntry.category).in_(("failed", "held")))
            return list(s.exec(q.order_by(col(LogEntry.id).desc()).limit(limit)))

    def write_log(self, connection_id: int, level: str, message: str, **kwargs: Any) -> None:
        with self.session() as s:
            self.log(s, connection_id, level, message, **kwargs)
            s.commit()

    def prune_log(self, connection_id: int, days: int) -> int:
        cutoff = datetime.now(timezone.utc) - timedelta(days=days)
        with self.session() as s:
            result = s.exec(delete(LogEntry).where(col(LogEntry.connection_id) == connection_id,
                                                   col(LogEntry.created_at) < cutoff))
            s.commit()
            return int(result.rowcount or 0)

    # --- stock taken by sales not yet in the inventory system -----------------------------------------
    def hold_quantities(self, s: Session, connection_id: int, sale_id: str,
                        rows: Iterable[tuple[str, str, Decimal]]) -> None:
        values = [{"connection_id": connection_id, "sale_id": sale_id, "product_id": p, "outlet_id": o,
                   "quantity": str(q)} for p, o, q in rows]
        if values:
            upsert(s, HeldQuantity, values, conflict=["connection_id", "sale_id", "product_id", "outlet_id"],
                   update=["quantity"])

    def release_quantities(self, s: Session, connection_id: int, sale_ids: Sequence[str]) -> None:
        for chunk in _chunks(list(sale_ids), 500):
            s.exec(delete(HeldQuantity).where(col(HeldQuantity.connection_id) == connection_id,
                                              col(HeldQuantity.sale_id).in_(chunk)))

    def held_quantities(self, connection_id: int) -> dict[tuple[str, str], Decimal]:
        """(POS product id, POS outlet id) → quantity taken by sales not yet imported."""
        out: dict[tuple[str, str], Decimal] = {}
        with self.session() as s:
            for row in s.exec(select(HeldQuantity).where(HeldQuantity.connection_id == connection_id)):
                key = (row.product_id, row.outlet_id)
                out[key] = out.get(key, Decimal(0)) + Decimal(row.quantity)
        return out


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]

"""Tables. Our own tables are the source of truth for connections, state and the log.

Unique constraints carry the rules that must hold even under races: one outlet per warehouse
and one warehouse per outlet (``location_map``), one binding per record and side (``binding``),
one cursor per flow, one log entry open per failing record.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def _ts(nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class Connection(SQLModel, table=True):
    """One tenant: a POS store + an inventory account (+ optional accounting)."""

    __tablename__ = "connection"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=100)
    created_at: datetime = Field(default_factory=now_utc, sa_column=_ts())


class ConnectionSystem(SQLModel, table=True):
    """Which system fills which role of a connection, and where its API lives."""

    __tablename__ = "connection_system"
    __table_args__ = (UniqueConstraint("connection_id", "role", name="uq_system_role"),)
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id", index=True)
    role: str = Field(max_length=30)
    system: str = Field(max_length=50)
    base_url: str = Field(max_length=500)


class Credential(SQLModel, table=True):
    """Encrypted credentials of one system of a connection (Fernet token of a JSON object)."""

    __tablename__ = "credential"
    __table_args__ = (UniqueConstraint("connection_id", "system", name="uq_credential"),)
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id", index=True)
    system: str = Field(max_length=50)
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_at: datetime = Field(default_factory=now_utc, sa_column=_ts())


class Setting(SQLModel, table=True):
    __tablename__ = "setting"
    __table_args__ = (UniqueConstraint("connection_id", "name", name="uq_setting"),)
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id", index=True)
    name: str = Field(max_length=100)
    value: str = Field(sa_column=Column(Text, nullable=False))  # JSON


class KnownLocation(SQLModel, table=True):
    """Outlets and warehouses as last loaded ("Reload outlets")."""

    __tablename__ = "known_location"
    __table_args__ = (UniqueConstraint("connection_id", "system", "location_id", name="uq_known_location"),)
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id", index=True)
    system: str = Field(max_length=50)
    kind: str = Field(max_length=20)
    location_id: str = Field(max_length=100)
    name: str = Field(max_length=200)
    code: str | None = Field(default=None, max_length=100)
    loaded_at: datetime = Field(default_factory=now_utc, sa_column=_ts())


class LocationMap(SQLModel, table=True):
    """Outlet ↔ warehouse, one-to-one: unique on both sides."""

    __tablename__ = "location_map"
    __table_args__ = (
        UniqueConstraint("connection_id", "outlet_id", name="uq_map_outlet"),
        UniqueConstraint("connection_id", "warehouse_id", name="uq_map_warehouse"),
    )
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id", index=True)
    outlet_id: str = Field(max_length=100)
    warehouse_id: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=now_utc, sa_column=_ts())


class Binding(SQLModel, table=True):
    """A record in one system bound to its twin in another, with what was last written.

    ``fingerprint`` is the canonical content of the source record last written (or seen);
    equal content means nothing to do, in either direction. ``target_fingerprint`` is the
    content of the target record as the target stored it after our write, when the target
    stores it differently from what was sent (``None``: unknown, taken to be ``fingerprint``):
    reading that record back from the target is then recognised as our own write (no echo).
    """

    __tablename__ = "binding"
    __table_args__ = (
        UniqueConstraint("connection_id", "entity_type", "source_system", "source_id", "target_system",
                         name="uq_binding_source"),
        UniqueConstraint("connection_id", "entity_type", "target_system", "target_id", "source_system",
                         name="uq_binding_target"),
    )
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id", index=True)
    entity_type: str = Field(max_length=30)
    source_system: str = Field(max_length=50)
    source_id: str = Field(max_length=200)
    target_system: str = Field(max_length=50)
    target_id: str = Field(max_length=200)
    source_key: str | None = Field(default=None, max_length=300)
    fingerprint: str | None = Field(default=None, max_length=64)
    target_fingerprint: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(default_factory=now_utc, sa_column=_ts())


class Cursor(SQLModel, table=True):
    __tablename__ = "cursor"
    __table_args__ = (UniqueConstraint("connection_id", "flow", name="uq_cursor"),)
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id", index=True)
    flow: str = Field(max_length=50)
    value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: datetime = Field(default_factory=now_utc, sa_column=_ts())


class SyncRun(SQLModel, table=True):
    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_conn_flow", "connection_id", "flow", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id")
    flow: str = Field(max_length=50)
    trigger: str = Field(default="manual", max_length=30)
    started_at: datetime = Field(default_factory=now_utc, sa_column=_ts())
    finished_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    status: str = Field(default="running", max_length=20)
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    held: int = 0
    failed: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class LogEntry(SQLModel, table=True):
    """The connection log: every fault with what to do about it; info lines too."""

    __tablename__ = "log_entry"
    __table_args__ = (
        Index("ix_log_conn_created", "connection_id", "created_at"),
        Index("ix_log_open_record", "connection_id", "flow", "source_id", "resolved_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id")
    created_at: datetime = Field(default_factory=now_utc, sa_column=_ts())
    level: str = Field(max_length=10)  # error | warning | info
    flow: str | None = Field(default=None, max_length=50)
    entity_type: str | None = Field(default=None, max_length=30)
    direction: str | None = Field(default=None, max_length=60)
    record_key: str | None = Field(default=None, max_length=300)
    source_id: str | None = Field(default=None, max_length=200)
    message: str = Field(sa_column=Column(Text, nullable=False))
    fix: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    category: str | None = Field(default=None, max_length=30)  # failed | held | skipped | run
    attempts: int = 1
    resolved_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class HeldQuantity(SQLModel, table=True):
    """Stock a POS sale has taken that the inventory system does not know about yet.

    The stock export subtracts these so an absolute set never puts back what a till just sold.
    """

    __tablename__ = "held_quantity"
    __table_args__ = (UniqueConstraint("connection_id", "sale_id", "product_id", "outlet_id", name="uq_held_qty"),)
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id", index=True)
    sale_id: str = Field(max_length=100)
    product_id: str = Field(max_length=100)
    outlet_id: str = Field(max_length=100)
    quantity: str = Field(max_length=40)  # Decimal as text: exact on every database


class Outbox(SQLModel, table=True):
    """Pending remote writes that must happen exactly once (accounting invoices)."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("connection_id", "kind", "record_key", name="uq_outbox_record"),)
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id", index=True)
    kind: str = Field(max_length=50)
    record_key: str = Field(max_length=200)
    idempotency_key: str = Field(max_length=128)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=20, index=True)  # pending | sent | failed | deferred
    target_id: str | None = Field(default=None, max_length=200)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=now_utc, sa_column=_ts())
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class WebhookDelivery(SQLModel, table=True):
    """Deliveries already seen, so a redelivered webhook triggers nothing twice."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("delivery_key", name="uq_webhook_delivery"),)
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id", index=True)
    system: str = Field(max_length=50)
    delivery_key: str = Field(max_length=128)
    received_at: datetime = Field(default_factory=now_utc, sa_column=_ts())


class KeyValue(SQLModel, table=True):
    """Small app-wide values (the web console's password hash, its session secret)."""

    __tablename__ = "key_value"
    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(sa_column=Column(Text, nullable=False))


class StateValue(SQLModel, table=True):
    """A plugin's durable value for one connection (``tillbridge.ConnectionState``): JSON text
    under a namespace (the plugin's, or a connector's system) and a key."""

    __tablename__ = "connection_state"
    __table_args__ = (UniqueConstraint("connection_id", "namespace", "key", name="uq_connection_state"),)
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id", index=True)
    namespace: str = Field(max_length=100)
    key: str = Field(max_length=200)
    value: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    updated_at: datetime = Field(default_factory=now_utc, sa_column=_ts())

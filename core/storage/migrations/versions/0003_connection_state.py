"""connection_state: plugins' durable per-connection values (tillbridge.ConnectionState)

The accounting plugin kept its last seen API budget in ``key_value`` under
``accounting.budget.<connection id>.<system>``; it now lives here, under the connector's system
as namespace and key ``budget``. Those rows are moved, so `accounting status` keeps showing it.

Revision ID: 0003_connection_state
Revises: 0002_target_fp
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_connection_state"
down_revision = "0002_target_fp"
branch_labels = None
depends_on = None

BUDGET_PREFIX = "accounting.budget."


def upgrade() -> None:
    op.create_table(
        "connection_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("namespace", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connection.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("connection_id", "namespace", "key", name="uq_connection_state"),
    )
    with op.batch_alter_table("connection_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connection_state_connection_id"), ["connection_id"], unique=False)
    _move_budgets()


def _move_budgets() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT key, value FROM key_value WHERE key LIKE :p"),
                        {"p": BUDGET_PREFIX + "%"}).all()
    known = {r[0] for r in bind.execute(sa.text("SELECT id FROM connection"))}
    now = datetime.now(timezone.utc)
    for key, value in rows:
        connection_id, _, system = key[len(BUDGET_PREFIX):].partition(".")
        if connection_id.isdigit() and int(connection_id) in known and system:
            bind.execute(sa.text("INSERT INTO connection_state (connection_id, namespace, key, value, updated_at) "
                                 "VALUES (:c, :n, 'budget', :v, :t)"),
                         {"c": int(connection_id), "n": system, "v": value, "t": now})
        bind.execute(sa.text("DELETE FROM key_value WHERE key = :k"), {"k": key})


def downgrade() -> None:
    with op.batch_alter_table("connection_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connection_state_connection_id"))
    op.drop_table("connection_state")

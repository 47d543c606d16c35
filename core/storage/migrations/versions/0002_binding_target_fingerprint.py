"""binding.target_fingerprint: the record as the target stored it

A target may store a record differently from how it was sent (a name split into first and last
names, a code without its spaces). Remembering the fingerprint of what it holds lets the flow in
the other direction recognise the record as our own write when it reads it back.

Revision ID: 0002_target_fp
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002_target_fp"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("binding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("binding", schema=None) as batch_op:
        batch_op.drop_column("target_fingerprint")

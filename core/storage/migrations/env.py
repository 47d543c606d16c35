"""Alembic environment: run by ``tillbridge.storage.db.migrate`` with a live connection."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from tillbridge.storage import models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through tillbridge.storage.db.migrate()")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

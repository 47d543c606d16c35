"""``INSERT … ON CONFLICT DO UPDATE`` for SQLite and PostgreSQL, one call for both."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def upsert(
    session: Session,
    model: type[SQLModel],
    values: dict[str, Any] | list[dict[str, Any]],
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert rows, or update ``update`` columns of the row that has the same ``conflict`` columns."""
    rows = values if isinstance(values, list) else [values]
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(rows)
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(conflict), set_={c: getattr(stmt.excluded, c) for c in update}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    session.exec(stmt)  # type: ignore[call-overload]

"""``INSERT … ON CONFLICT DO UPDATE`` for SQLite and PostgreSQL, one call for both."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, SQLModel


def upsert(
    session: Session,
    model: type[SQLModel],
    values: dict[str, Any] | list[dict[str, Any]],
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert rows, or update ``update`` columns of the row that has the same ``conflict`` columns.

    Rows go as one statement with many parameter sets (``executemany``), not as one
    ``VALUES (…), (…)`` statement per call: the statement is then the same for any number of
    rows, so SQLAlchemy compiles it once and reuses it (compiling a fresh multi-row statement
    for every page of bindings was a tenth of a sync's CPU time). Rows are applied in order, so
    when two rows of one call share their ``conflict`` columns the last one wins.
    """
    rows = values if isinstance(values, list) else [values]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    # SQLModel's metaclass sets __table__ on table models without declaring it on SQLModel.
    stmt = _statement(model.__table__, dialect, tuple(conflict), tuple(update))  # type: ignore[attr-defined]
    # Every row must name the same columns for executemany; the callers' rows do, and a
    # column a row leaves out takes its default, as it would in a single-row insert.
    columns = {key for row in rows for key in row}
    if any(len(row) != len(columns) for row in rows):
        for row in rows:
            session.exec(stmt.values(row))
        return
    session.exec(stmt, params=rows)


@lru_cache(maxsize=256)
def _statement(table: Table, dialect: str, conflict: tuple[str, ...], update: tuple[str, ...]) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table)
    if update:
        return stmt.on_conflict_do_update(index_elements=list(conflict),
                                          set_={c: getattr(stmt.excluded, c) for c in update})
    return stmt.on_conflict_do_nothing(index_elements=list(conflict))

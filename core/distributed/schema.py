"""Procrastinate's schema in tillbridge's database: installed, then upgraded, by ``tillbridge db upgrade``.

A fresh database gets Procrastinate's full ``schema.sql``; the version installed is kept in
``tillbridge_queue_schema``. After ``pip install -U`` brings a newer Procrastinate (same major
version, as pinned), the next ``db upgrade`` applies the migration files it ships
(``procrastinate/sql/migrations/NN.NN.NN_*.sql``) newer than the recorded version, in order, in
one transaction. A transaction-scoped advisory lock serialises concurrent upgrades (several
producers and workers starting at once).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import procrastinate
import psycopg
from procrastinate.schema import SchemaManager

from .queue import conninfo

log = logging.getLogger("tillbridge.distributed.schema")

VERSION_TABLE = "tillbridge_queue_schema"
#: pg_advisory_xact_lock key while installing/upgrading the queue schema.
SCHEMA_LOCK = 0x7469_6C6C_0001


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def migrations() -> list[tuple[tuple[int, ...], Path]]:
    """(version, file) of every migration Procrastinate ships, in the order they apply."""
    out = []
    for path in sorted(Path(SchemaManager.get_migrations_path()).glob("*.sql")):
        match = re.match(r"(\d+)\.(\d+)\.(\d+)_", path.name)
        if match:
            out.append((tuple(int(g) for g in match.groups()), path))
    return out


def pending(current: str, target: str) -> list[Path]:
    """The migration files that bring a schema of Procrastinate ``current`` to ``target``."""
    return [path for version, path in migrations() if _version(current) < version <= _version(target)]


def installed_version(database_url: str) -> str | None:
    with psycopg.connect(conninfo(database_url)) as conn:
        return _read(conn)


def _read(conn: psycopg.Connection) -> str | None:
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (VERSION_TABLE,)).fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()
    return str(row[0]) if row else None


def upgrade(database_url: str) -> list[str]:
    """Install or upgrade Procrastinate's schema; returns what was done (one line each)."""
    target = procrastinate.__version__
    done: list[str] = []
    with psycopg.connect(conninfo(database_url)) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            current = _read(conn)
            if current is None:
                has_jobs = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
                if has_jobs and has_jobs[0]:
                    # installed by hand (procrastinate schema --apply): trust it to be this version
                    done.append(f"queue schema found (procrastinate {target}), now tracked")
                else:
                    conn.execute(SchemaManager.get_schema().encode())
                    done.append(f"queue schema installed (procrastinate {target})")
                conn.execute(f"CREATE TABLE {VERSION_TABLE} (version text NOT NULL)")
                conn.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (%s)", (target,))
            elif _version(current) < _version(target):
                for path in pending(current, target):
                    conn.execute(path.read_text(encoding="utf-8").encode())
                    done.append(f"queue migration {path.name}")
                conn.execute(f"UPDATE {VERSION_TABLE} SET version = %s", (target,))
                done.append(f"queue schema upgraded from procrastinate {current} to {target}")
            elif _version(current) > _version(target):
                done.append(f"queue schema is from procrastinate {current}, newer than the installed {target}: "
                            "left as is")
    for line in done:
        log.info(line)
    return done


__all__ = ["installed_version", "migrations", "pending", "upgrade"]

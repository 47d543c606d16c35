"""Engines, migrations and sessions. SQLite by default, PostgreSQL (psycopg 3) when asked."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import Session

from ..errors import ConfigError
from ..paths import data_dir

MIGRATIONS = Path(__file__).parent / "migrations"


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'tillbridge.sqlite'}"


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("TILLBRIDGE_DATABASE_URL") or default_database_url()


def _normalise(url: str) -> str:
    # "postgresql://" means psycopg2 to SQLAlchemy; we ship psycopg 3.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    url = _normalise(url)
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

            @sa.event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

        else:
            engine = sa.create_engine(url, pool_pre_ping=True)
        with engine.connect():
            pass
    except (ArgumentError, OperationalError, ImportError, sa.exc.NoSuchModuleError) as exc:
        safe = sa.engine.make_url(url).render_as_string(hide_password=True) if "://" in url else url
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ConfigError(
            f"cannot open the database {safe}: {reason}",
            fix="check --database-url / TILLBRIDGE_DATABASE_URL (e.g. sqlite:///path/file.sqlite or "
            "postgresql+psycopg://user@host:5432/db)",
        ) from None
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent; safe on every start)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)

"""Engines, migrations and sessions. SQLite by default, PostgreSQL (psycopg 3) when asked."""

from __future__ import annotations

import errno
import importlib.metadata
import os
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlmodel import Session

from ..errors import ConfigError, StorageError
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


#: The first 16 bytes of every SQLite 3 database file.
SQLITE_HEADER = b"SQLite format 3\x00"
#: How to say "yes, create a new database at this explicit path".
CREATE_HINT = "--create-database (or TILLBRIDGE_CREATE_DATABASE=1)"
#: The key (table ``key_value``) naming the tillbridge version that last moved the schema.
SCHEMA_WRITTEN_BY = "tillbridge.schema_written_by"
#: What SQLite says of a file that is not a database or is damaged.
DAMAGED = ("not a database", "malformed", "file is encrypted")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for in-memory SQLite and for other databases."""
    if not url.startswith("sqlite"):
        return None
    try:
        name = sa.engine.make_url(url).database
    except ArgumentError:
        return None
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def _shown(url: str) -> str:
    """The database as a person recognises it: its file, or its URL without the password."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def explain(exc: BaseException, url: str) -> StorageError | None:
    """A failure of the database, or of the disk under a file, said for the person who must act;
    None if ``exc`` is none of those (a bug, a lost server...), to be handled or raised as it is.

    The one translator of storage failures: opening, migrating, and any command's writes (the
    CLI passes what escapes a command through it). An ``OSError`` naming its own file (a key
    file, an export) is said of that file, not of the database.
    """
    if isinstance(exc, StorageError):
        return exc
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).lower()
    if isinstance(cause, OSError):
        if cause.errno not in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT):
            return None
        if cause.filename:
            path: Path | None = Path(os.fsdecode(cause.filename))
            where, database = str(path), False
        else:
            path, where, database = sqlite_path(url), _shown(url), True
        full = cause.errno in (errno.ENOSPC, errno.EDQUOT)
        read_only = not full
    else:
        if not isinstance(exc, (DBAPIError, sqlite3.Error)):
            return None
        path, where, database = sqlite_path(url), _shown(url), True
        if any(word in text for word in DAMAGED):
            return StorageError(
                f"{where} is not a tillbridge database, or it is damaged (tillbridge has not changed it)",
                fix="restore the file from your backup, or point --database-url / TILLBRIDGE_DATABASE_URL at "
                "the right database")
        full = "disk is full" in text or "no space left" in text or "quota" in text
        read_only = not full and ("readonly" in text or "read-only" in text
                                  or (path is not None and "unable to open database file" in text))
    elsewhere = " or point --database-url / TILLBRIDGE_DATABASE_URL at a writable place" if database else ""
    if full:
        return StorageError(
            f"the disk holding {where} is full: the step that needed the space was not saved",
            fix="free some space on that disk, then run the command again (nothing is duplicated)")
    if read_only:
        folder = str(path.parent.resolve()) if path is not None else None
        return StorageError(
            f"cannot write to {where}: the file or its folder is read-only for this user",
            fix=(f"let the user running tillbridge write the folder {folder} and the files in it" if folder
                 else "give this user write access to the database") + ("," if elsewhere else "") + elsewhere)
    return None


def _sqlite_trouble(path: Path) -> str | None:
    """What is wrong with an existing SQLite file, asked without writing to it (as switching it to
    WAL would): "damaged" (shorter than its header says, as a copy cut short, or an unreadable
    schema), "foreign" (tables, but none of tillbridge's), or None.

    Not asked while a ``-wal`` file exists: another process has the database open (the daemon)
    and may be moving pages into the file this very moment; the file is in WAL mode already,
    so opening it normally changes nothing of a damaged one, and SQLite says if it is."""
    if Path(f"{path}-wal").exists():
        return None
    with path.open("rb") as fh:
        header = fh.read(100)
    if len(header) < 100:
        return "damaged"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    counted = header[24:28] == header[92:96]  # the page count in the header is valid
    if counted and pages and path.stat().st_size < pages * page_size:
        return "damaged"
    try:  # immutable: no lock, no -wal or -shm files made next to it
        probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return None  # cannot even open it read-only (permissions): opening proper says why
    try:
        tables = {row[0] for row in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        return "damaged" if any(word in str(exc).lower() for word in DAMAGED) else None
    finally:
        probe.close()
    return "foreign" if tables and "alembic_version" not in tables else None


def _prepare_sqlite_file(path: Path, *, create: bool) -> bool:
    """Check an existing SQLite file, or create a new one (owner-only, 0600: it holds customer
    records and the encrypted credentials). True when this call created it."""
    if path.is_dir():
        raise StorageError(f"{path} is a folder, not a database file",
                           fix="point --database-url / TILLBRIDGE_DATABASE_URL at a file in it, e.g. "
                           f"sqlite:///{path / 'tillbridge.sqlite'}")
    if path.exists():
        try:
            with path.open("rb") as fh:
                head = fh.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise explain(exc, f"sqlite:///{path}") or StorageError(
                f"cannot read {path}: {exc.strerror or exc}", fix="check the file's permissions") from None
        trouble = (_sqlite_trouble(path) if head == SQLITE_HEADER else "damaged") if head else None
        if trouble == "foreign":
            raise StorageError(
                f"{path} is a SQLite database of another program, not a tillbridge database "
                "(tillbridge has not changed it)",
                fix="point --database-url / TILLBRIDGE_DATABASE_URL at tillbridge's database, or at a new file "
                f"with {CREATE_HINT}")
        if trouble:  # (an empty file is a new database to SQLite)
            raise StorageError(
                f"{path} is not a tillbridge database, or it is damaged (tillbridge has not changed it)",
                fix="restore the file from your backup, or point --database-url / TILLBRIDGE_DATABASE_URL at "
                "the right database")
        return False
    if not create:
        raise StorageError(
            f"there is no tillbridge database at {path}",
            fix="check the path given to --database-url / TILLBRIDGE_DATABASE_URL (a typo?); to start a new, "
            f"empty database there, add {CREATE_HINT}")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return False
    except OSError as exc:
        raise explain(exc, f"sqlite:///{path}") or StorageError(
            f"cannot create the database {path}: {exc.strerror or exc}",
            fix="point --database-url / TILLBRIDGE_DATABASE_URL at a folder this user can write") from None
    return True


def check_database_file(url: str, *, create: bool) -> None:
    """For a process that opens the database later (the daemon): refuse now, as opening would,
    a SQLite file that is missing (unless ``create``), a folder, or not SQLite."""
    path = sqlite_path(_normalise(url))
    if path is not None:
        _prepare_sqlite_file(path, create=create)


def make_engine(url: str, *, create: bool = True) -> Engine:
    """An engine on ``url``, checked by one connection. A SQLite file that does not exist is made
    (0600, with its folders) only when ``create``; otherwise that is a :class:`StorageError`."""
    url = _normalise(url)
    path = sqlite_path(url)
    if path is not None:
        _prepare_sqlite_file(path, create=create)
    try:
        if url.startswith("sqlite"):
            engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

            @sa.event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

        else:
            engine = sa.create_engine(url, pool_pre_ping=True)
        try:
            with engine.connect():
                pass
        except BaseException:
            engine.dispose()
            raise
    except (ArgumentError, DBAPIError, ImportError, sa.exc.NoSuchModuleError) as exc:
        known = explain(exc, url) if isinstance(exc, DBAPIError) else None
        if known is not None:
            raise known from None
        safe = _shown(url)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ConfigError(
            f"cannot open the database {safe}: {reason}",
            fix="check --database-url / TILLBRIDGE_DATABASE_URL (e.g. sqlite:///path/file.sqlite or "
            "postgresql+psycopg://user@host:5432/db)",
        ) from None
    return engine


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def tillbridge_version() -> str:
    try:
        return importlib.metadata.version("tillbridge")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source tree, not installed
        return "unknown"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent; safe on every start).

    A database whose revision this tillbridge does not know was moved on by a newer tillbridge:
    it is refused (never downgraded), naming the version that wrote it. One transaction: a
    failure leaves the schema as it was.
    """
    config = _alembic_config()
    script = ScriptDirectory.from_config(config)
    try:
        with engine.begin() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
            known = {rev.revision for rev in script.walk_revisions()}
            if current - known:
                raise _newer_schema(connection, engine, sorted(current - known), script.get_current_head())
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            if current != set(script.get_heads()):
                _set_written_by(connection, tillbridge_version())
            elif _written_by(connection) is None:  # a database from before this note: add it if we may
                try:
                    with connection.begin_nested():
                        _set_written_by(connection, tillbridge_version())
                except DBAPIError:
                    pass  # read-only: the note waits for a start that may write
    except (DBAPIError, OSError) as exc:
        known_error = explain(exc, engine.url.render_as_string(hide_password=False))
        if known_error is None:
            raise
        raise known_error from None


def _written_by(connection: sa.Connection) -> str | None:
    try:
        return connection.execute(sa.text("SELECT value FROM key_value WHERE key = :k"),
                                  {"k": SCHEMA_WRITTEN_BY}).scalar()
    except DBAPIError:  # pragma: no cover - a schema without the table
        return None


def _set_written_by(connection: sa.Connection, version: str) -> None:
    connection.execute(sa.text("DELETE FROM key_value WHERE key = :k"), {"k": SCHEMA_WRITTEN_BY})
    connection.execute(sa.text("INSERT INTO key_value (key, value) VALUES (:k, :v)"),
                       {"k": SCHEMA_WRITTEN_BY, "v": version})


def _newer_schema(connection: sa.Connection, engine: Engine, revisions: list[str], head: str | None) -> StorageError:
    writer = _written_by(connection)
    mine = tillbridge_version()
    by = f"tillbridge {writer}" if writer else "a newer tillbridge"
    needed = f"tillbridge {writer} or newer" if writer else "the tillbridge that last opened it, or newer"
    return StorageError(
        f"the database {_shown(engine.url.render_as_string(hide_password=False))} was last upgraded by {by} "
        f"(schema revision {', '.join(revisions)}); this is tillbridge {mine}, whose newest schema is {head}, "
        "and it never downgrades a database (nothing was changed)",
        fix=f"upgrade tillbridge to {needed} (e.g. pip install --upgrade tillbridge), or use a database made "
        "by this version")


def open_database(url: str, *, create: bool = True) -> Engine:
    """The one way tillbridge opens its database: connect (creating a missing SQLite file only
    when ``create``), check, migrate. Every failure is a :class:`StorageError` or
    :class:`ConfigError` saying what to do; a database file this call created is removed again
    if it could not be set up (nothing half-made is left behind)."""
    path = sqlite_path(_normalise(url))
    existed = path is None or path.exists()
    engine: Engine | None = None
    try:
        engine = make_engine(url, create=create)
        migrate(engine)
    except BaseException:
        if engine is not None:
            engine.dispose()
        if not existed and path is not None:
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
                leftover.unlink(missing_ok=True)
        raise
    return engine


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)

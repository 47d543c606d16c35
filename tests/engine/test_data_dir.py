"""A damaged or unusual data directory gets a clear message (exit 2), never a traceback, and is
left as it was; the files tillbridge makes are private (issue 18)."""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import stat
import subprocess
from pathlib import Path
from typing import Callable, Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet

from tillbridge.app import App
from tillbridge.cli.main import build_cli
from tillbridge.errors import StorageError
from tillbridge.plugins import Plugins
from tillbridge.storage import db


class Cli:
    """The command line with a data folder of its own and the key file in it (no key in the env)."""

    def __init__(self, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.home = home
        monkeypatch.setenv("TILLBRIDGE_HOME", str(home))
        monkeypatch.delenv("TILLBRIDGE_SECRET_KEY", raising=False)
        monkeypatch.delenv("TILLBRIDGE_DATABASE_URL", raising=False)
        monkeypatch.delenv("TILLBRIDGE_CREATE_DATABASE", raising=False)  # the real default
        self.cli = build_cli()

    def __call__(self, *args: str, code: int = 0, env: dict[str, str] | None = None) -> Result:
        result = CliRunner().invoke(self.cli, list(args), env=env)
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert result.exit_code == code, result.output
        return result


def said(result: Result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def says(result: Result, *phrases: str) -> bool:
    """Every phrase is in the output, whitespace aside (rich wraps long paths mid-word)."""
    flat = "".join(result.output.split())
    return all("".join(p.split()) in flat for p in phrases)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(tmp_path / "home", monkeypatch)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- files that are not a tillbridge database -------------------------------------------------------

def test_a_file_that_is_not_a_tillbridge_database_is_named_and_left_alone(cli: Cli, tmp_path: Path) -> None:
    cli("connections", "add", "shop")  # the default database, in the data folder
    real = cli.home / "tillbridge.sqlite"
    assert real.stat().st_size > 8192
    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(real.read_bytes()[:6000])  # a copy cut short
    text = tmp_path / "notes.txt"
    text.write_text("connection: shop\n")
    other = tmp_path / "places.sqlite"  # a SQLite database of another program
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    for path in (truncated, text, other):
        before = digest(path)
        result = cli("--database-url", f"sqlite:///{path}", "connections", "list", code=2)
        words = said(result)
        assert str(path) in words and "not a tillbridge database" in words, words
        assert "backup" in words or "another program" in words, words
        assert "--database-url" in words
        assert digest(path) == before  # not one byte changed
        assert not Path(f"{path}-wal").exists() and not Path(f"{path}-journal").exists()
    assert "shop" in said(cli("connections", "list"))  # the real one still works


def test_a_damaged_database_is_refused_by_the_library_too(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 40 + b"garbage" * 100)
    with pytest.raises(StorageError, match="not a tillbridge database, or it is damaged"):
        App(f"sqlite:///{path}", plugins=Plugins(), secret_key=Fernet.generate_key())


def test_a_folder_given_as_the_database(cli: Cli, tmp_path: Path) -> None:
    words = said(cli("--database-url", f"sqlite:///{tmp_path}", "connections", "list", code=2))
    assert f"{tmp_path} is a folder, not a database file" in words
    assert f"sqlite:///{tmp_path / 'tillbridge.sqlite'}" in words.replace(" ", "")  # (rich wraps long paths)


# --- an explicit path that does not exist -----------------------------------------------------------

def test_an_explicit_path_that_does_not_exist_is_not_created_unless_asked(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "some" / "new" / "dir" / "x.db"
    url = f"sqlite:///{target}"
    words = said(cli("--database-url", url, "connections", "list", code=2))
    assert f"there is no tillbridge database at {target}" in words and "--create-database" in words, words
    assert not (tmp_path / "some").exists()  # no folders made for a typo
    words = said(cli("connections", "list", code=2, env={"TILLBRIDGE_DATABASE_URL": url}))
    assert "there is no tillbridge database" in words
    assert not (tmp_path / "some").exists()
    cli("--database-url", url, "--create-database", "connections", "add", "shop")
    assert mode(target) == 0o600 and mode(target.parent) == 0o700
    assert "shop" in said(cli("--database-url", url, "connections", "list"))  # exists now: no flag needed
    other = tmp_path / "other.db"
    cli("connections", "add", "b", env={"TILLBRIDGE_DATABASE_URL": f"sqlite:///{other}",
                                        "TILLBRIDGE_CREATE_DATABASE": "1"})
    assert other.exists()


def test_the_daemon_refuses_a_missing_explicit_path_too(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "typo.db"
    words = said(cli("--database-url", f"sqlite:///{target}", "run", "--listen", "127.0.0.1:0", code=2))
    assert "there is no tillbridge database" in words and not target.exists()


def test_the_default_database_and_folder_are_created_private(cli: Cli) -> None:
    old = os.umask(0o022)
    try:
        cli("connections", "add", "shop")
    finally:
        os.umask(old)
    assert mode(cli.home) == 0o700
    assert mode(cli.home / "tillbridge.sqlite") == 0o600
    assert mode(cli.home / "secret.key") == 0o600


def test_wal_and_shm_files_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        app = App(f"sqlite:///{tmp_path / 'a.sqlite'}", plugins=Plugins(), secret_key=Fernet.generate_key())
        with app.engine.connect() as held:  # an open connection keeps -wal and -shm in place
            app.store.create_connection("shop")
            held.execute(sa.text("SELECT count(*) FROM connection")).scalar()
            files = [tmp_path / "a.sqlite", tmp_path / "a.sqlite-wal", tmp_path / "a.sqlite-shm"]
            assert all(f.exists() for f in files)
            assert [mode(f) for f in files] == [0o600] * 3
        app.close()
    finally:
        os.umask(old)


def test_demo_fresh_still_makes_its_own_database(cli: Cli, tmp_path: Path) -> None:
    typo = tmp_path / "typo.sqlite"
    words = said(cli("--database-url", f"sqlite:///{typo}", "demo", "--products", "12", code=2))
    assert "there is no tillbridge database" in words and not typo.exists()
    words = said(cli("--database-url", f"sqlite:///{typo}", "demo", "--fresh", "--products", "12"))
    assert "Demo finished" in words and not typo.exists()  # --fresh: a temporary one, whatever the URL


# --- a database written by a newer tillbridge -------------------------------------------------------

def test_a_database_from_a_newer_tillbridge_is_refused_not_downgraded(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite"
    url = f"sqlite:///{path}"
    cli("--database-url", url, "--create-database", "connections", "add", "shop")
    with sqlite3.connect(path) as c:  # what tillbridge 9.1.0 would leave after its own migration
        c.execute("UPDATE alembic_version SET version_num = '0099'")
        c.execute("UPDATE key_value SET value = '9.1.0' WHERE key = ?", (db.SCHEMA_WRITTEN_BY,))
    before = digest(path)
    words = said(cli("--database-url", url, "connections", "list", code=2))
    assert "last upgraded by tillbridge 9.1.0" in words and "0099" in words, words
    assert "never downgrades" in words and "upgrade tillbridge to tillbridge 9.1.0 or newer" in words
    assert digest(path) == before
    with sqlite3.connect(path) as c:  # a newer one that did not say its version: still refused
        c.execute("DELETE FROM key_value WHERE key = ?", (db.SCHEMA_WRITTEN_BY,))
    words = said(cli("--database-url", url, "connections", "list", code=2))
    assert "a newer tillbridge" in words and "upgrade tillbridge" in words


def test_a_newer_schema_is_refused_on_every_database(database_url: str) -> None:
    key = Fernet.generate_key()
    app = App(database_url, plugins=Plugins(), secret_key=key)
    with app.engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    app.close()
    with pytest.raises(StorageError, match="never downgrades") as refused:
        App(database_url, plugins=Plugins(), secret_key=key)
    assert f"tillbridge {db.tillbridge_version()} or newer" in str(refused.value)  # the version that wrote it
    engine = sa.create_engine(database_url)
    with engine.connect() as c:  # left as it was
        assert c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0099"
    engine.dispose()


def test_every_migration_records_the_version_that_made_it(tmp_path: Path) -> None:
    app = App(f"sqlite:///{tmp_path / 'v.sqlite'}", plugins=Plugins(), secret_key=Fernet.generate_key())
    with app.engine.connect() as c:
        written = c.execute(sa.text("SELECT value FROM key_value WHERE key = :k"),
                            {"k": db.SCHEMA_WRITTEN_BY}).scalar()
    app.close()
    assert written == db.tillbridge_version()


# --- a full or read-only disk -------------------------------------------------------------------------

@pytest.fixture
def fill_disk() -> Iterator[Callable[[], None]]:
    """After ``fill_disk()`` no SQLite connection may grow its file: SQLite itself answers
    SQLITE_FULL ("database or disk is full"), as on a full disk."""

    def cap(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        if isinstance(dbapi_conn, sqlite3.Connection):
            pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
            dbapi_conn.execute(f"PRAGMA max_page_count = {max(pages, 1)}")

    yield lambda: sa.event.listen(sa.engine.Engine, "connect", cap)
    if sa.event.contains(sa.engine.Engine, "connect", cap):
        sa.event.remove(sa.engine.Engine, "connect", cap)


def test_a_full_disk_is_said_plainly_and_nothing_is_half_saved(cli: Cli) -> None:
    cli("connections", "add", "shop", "--inventory-url", "http://127.0.0.1:9")
    path = cli.home / "tillbridge.sqlite"

    def counts() -> tuple[int, int]:
        with sqlite3.connect(path) as c:
            return (c.execute("SELECT count(*) FROM connection").fetchone()[0],
                    c.execute("SELECT count(*) FROM connection_system").fetchone()[0])

    before = counts()

    def disk_full(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        # The disk fills up after the connection's row, at its systems: what SQLite raises then.
        if statement.startswith("INSERT INTO connection_system"):
            raise sa.exc.OperationalError(statement, parameters, sqlite3.OperationalError("database or disk is full"))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", disk_full)
    try:
        result = cli("connections", "add", "second-shop", "--inventory-url", "http://127.0.0.1:9", code=2)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", disk_full)
    assert says(result, f"the disk holding {path} is full", "free some space"), result.output
    assert counts() == before  # neither the connection nor any of its systems
    cli("connections", "add", "second-shop", "--inventory-url", "http://127.0.0.1:9")  # space again: works
    assert counts() == (before[0] + 1, before[1] + 2)


def test_a_new_database_on_a_full_disk_leaves_no_file_behind(cli: Cli, tmp_path: Path,
                                                             fill_disk: Callable[[], None]) -> None:
    fill_disk()
    target = tmp_path / "new.sqlite"
    result = cli("--database-url", f"sqlite:///{target}", "--create-database", "connections", "list", code=2)
    assert says(result, "is full")
    assert not target.exists() and not Path(f"{target}-wal").exists()


def test_a_read_only_database_is_said_plainly(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("connections", "add", "shop")

    def read_only(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        if isinstance(dbapi_conn, sqlite3.Connection):
            dbapi_conn.execute("PRAGMA query_only = ON")  # SQLite refuses writes: "readonly database"

    sa.event.listen(sa.engine.Engine, "connect", read_only)
    try:
        assert "shop" in said(cli("connections", "list"))  # reading still works
        result = cli("connections", "add", "other", code=2)
    finally:
        sa.event.remove(sa.engine.Engine, "connect", read_only)
    words = said(result)
    assert "cannot write to" in words
    assert says(result, str(cli.home / "tillbridge.sqlite"), f"the folder {cli.home.resolve()}"), words


def _mount(kind: str, where: Path, options: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", kind, "-o", options, kind, str(where)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "mnt"
    if not _mount("tmpfs", where, "size=2m,mode=0700"):
        pytest.skip("mounting a small tmpfs needs root and mount rights (the injected cases above still run)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_a_really_full_and_a_really_read_only_data_folder(cli: Cli, mounted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILLBRIDGE_HOME", str(mounted / "home"))
    (mounted / "filler").write_bytes(b"\1" * 1_990_000)  # leave less than a new database needs
    words = said(cli("connections", "list", code=2))
    assert "full" in words, words
    assert not (mounted / "home" / "tillbridge.sqlite").exists()
    (mounted / "filler").unlink()
    cli("connections", "add", "shop")
    subprocess.run(["mount", "-o", "remount,ro", str(mounted)], check=True)
    try:
        words = said(cli("connections", "add", "other", code=2))
        assert "cannot write to" in words or "read-only" in words, words
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(mounted)], check=True)


# --- a lost or wrong key file -------------------------------------------------------------------------

def test_a_lost_or_wrong_key_file_names_the_connection_to_connect_again(cli: Cli, retailer) -> None:  # type: ignore[no-untyped-def]
    creds = retailer.ul.credentials(retailer.ul_url)
    login = ["--api-id", creds["api_id"], "--api-key", creds["api_key"]]
    for name in ("north", "south"):
        cli("connections", "add", name, "--inventory-url", retailer.ul_url)
        cli("connect", "unleashed", "-c", name, *login)
    cli("settings", "set", "export_stock", "on", "-c", "north")
    key_file = cli.home / "secret.key"
    key_file.unlink()  # lost (a new one is made on the next start)

    result = cli("sync", "--once", "-c", "north", code=2)
    assert says(result, "the saved unleashed credentials of connection 'north' cannot be read",
                "made just now because it was missing",
                "`tillbridge connect unleashed -c north`", "restore that key from your backup"), result.output
    assert "connection 1" not in result.output and "id=" not in result.output  # a name, never an id
    shown = said(cli("connections", "show", "-c", "north"))  # the rest of the connection still shows
    assert "unreadable" in shown and "mappings: 0" in shown
    assert "│ export_stock │ on │" in said(cli("settings", "show", "-c", "north"))
    assert {"north", "south"} <= set(said(cli("connections", "list")).split())

    cli("connect", "unleashed", "-c", "north", *login)  # connected again: readable with the new key
    assert f"api_id={creds['api_id']}" in said(cli("connections", "show", "-c", "north"))
    result = cli("sync", "--once", "-c", "south", code=2)  # south still needs it, and says so
    assert says(result, "connection 'south'", "tillbridge connect unleashed -c south")

    key_file.write_bytes(Fernet.generate_key())  # replaced by another valid key
    result = cli("connections", "show", "-c", "north")
    assert says(result, f"the key file {key_file}", "tillbridge connect unleashed -c north")

    key_file.write_bytes(b"not a key at all\n")  # damaged
    before = digest(key_file)
    result = cli("connections", "list", code=2)
    assert says(result, f"the key file {key_file} does not hold a valid encryption key",
                "restore that file from your backup"), result.output
    assert digest(key_file) == before


def test_disk_errors_name_their_own_file_and_other_errors_pass_through(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    full = db.explain(OSError(errno.ENOSPC, "No space left on device", "/srv/exports/stock.csv"), url)
    assert full is not None and "the disk holding /srv/exports/stock.csv is full" in full.message
    locked = db.explain(PermissionError(errno.EACCES, "Permission denied", "/srv/exports/stock.csv"), url)
    assert locked is not None and "cannot write to /srv/exports/stock.csv" in locked.message
    assert "--database-url" not in str(locked) and "/srv/exports" in (locked.fix or "")
    assert db.explain(FileNotFoundError(errno.ENOENT, "No such file", "/x"), url) is None
    assert db.explain(ValueError("a bug"), url) is None
    readonly = db.explain(sa.exc.OperationalError("INSERT", {}, sqlite3.OperationalError(
        "attempt to write a readonly database")), url)
    assert readonly is not None and str(tmp_path / "db.sqlite") in readonly.message
    assert "--database-url" in (readonly.fix or "")

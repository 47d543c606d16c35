"""Bad input gets a clear message and a non-zero exit, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tillbridge.cli.main import build_cli


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TILLBRIDGE_HOME", str(tmp_path / "home"))
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    cli = build_cli()

    def invoke(*args: str, database: str | None = db):  # type: ignore[no-untyped-def]
        full = (["--database-url", database] if database else []) + list(args)
        return CliRunner().invoke(cli, full, catch_exceptions=False)

    return invoke


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_clear_error(result, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code != 0
    text = result.output
    assert "Traceback" not in text
    assert "Error:" in text
    for word in words:
        assert word.lower() in text.lower(), text


def test_unknown_connection(run) -> None:  # type: ignore[no-untyped-def]
    run("connections", "add", "shop")
    result = run("sync", "--once", "--connection", "nope")
    assert_clear_error(result, "no connection named 'nope'", "shop")


def test_unreachable_base_url(run) -> None:  # type: ignore[no-untyped-def]
    url = f"http://127.0.0.1:{free_port()}"
    run("connections", "add", "shop", "--inventory-url", url)
    result = run("connect", "unleashed", "-c", "shop", "--api-id", "x", "--api-key", "y")
    assert_clear_error(result, "cannot reach unleashed", url)


def test_wrong_unleashed_key_is_refused_and_nothing_saved(run, retailer) -> None:  # type: ignore[no-untyped-def]
    run("connections", "add", "shop2", "--inventory-url", retailer.ul_url)
    creds = retailer.ul.credentials(retailer.ul_url)
    result = run("connect", "unleashed", "-c", "shop2", "--api-id", creds["api_id"], "--api-key", "wrong-key")
    assert_clear_error(result, "refused", "403")
    shown = run("connections", "show", "-c", "shop2")
    assert "not connected" in shown.output
    ok = run("connect", "unleashed", "-c", "shop2", "--api-id", creds["api_id"], "--api-key", creds["api_key"])
    assert ok.exit_code == 0, ok.output
    assert "3 warehouses" in ok.output
    shown = run("connections", "show", "-c", "shop2")
    assert creds["api_key"] not in shown.output  # secrets are never shown


def test_database_url_that_cannot_be_opened(run) -> None:  # type: ignore[no-untyped-def]
    result = run("connections", "list", database="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert_clear_error(result, "cannot open the database")
    result = run("connections", "list", database="notadatabase://x")
    assert_clear_error(result, "cannot open the database")


def test_bad_setting_name_and_value(run) -> None:  # type: ignore[no-untyped-def]
    run("connections", "add", "shop")
    assert_clear_error(run("settings", "set", "no_such_thing", "on"), "no setting")
    assert_clear_error(run("settings", "set", "export_stock", "maybe"), "true or false")
    assert_clear_error(run("settings", "set", "include_assembled", "on"), "export_stock")
    assert run("settings", "set", "export_stock", "on", "include_assembled", "on").exit_code == 0


def test_installed_console_script_shows_no_traceback(tmp_path: Path) -> None:
    """The real entry point, in a subprocess: an unknown connection is a message, not a crash."""
    script = Path(sys.executable).with_name("tillbridge")
    if not script.exists():
        pytest.skip("the tillbridge console script is not installed next to this Python")
    env = {"TILLBRIDGE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "TILLBRIDGE_CREATE_DATABASE": "1"}
    done = subprocess.run([str(script), "--database-url", f"sqlite:///{tmp_path}/x.sqlite", "log", "-c", "ghost"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "no connection named 'ghost'" in done.stderr

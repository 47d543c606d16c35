"""Ctrl-C in the middle of ``tillbridge sync --once``: a short message, exit 130, and the next
sync creates what is missing without duplicating anything (issue 18)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from tillbridge.app import App
from tillbridge.cli.main import build_cli
from tillbridge.events import SyncEvent

from .shopkit import KEY, Shop


def test_sigint_in_the_middle_of_a_sync_then_a_rerun_duplicates_nothing(
        shop_factory: Callable[..., Shop], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shop = shop_factory(ls_options={"products": 10, "customers": 4, "sales": 20})
    shop.map({0: "W1", 1: "W2", 2: "W3"})
    shop.sync("products", "customers")
    sales = {s["invoice_number"] for s in shop.ls.sales() if s["status"] == "CLOSED"}
    assert len(sales) >= 10 and shop.ul.sales_orders() == []

    writes = []
    emit = App.emit

    def interrupting(self: App, event: SyncEvent) -> None:
        emit(self, event)
        if event.kind == "api_call" and event.system == "unleashed" and event.detail.get("method") == "POST":
            writes.append(event)
            if len(writes) == 3:  # a real SIGINT, right after a remote write, before its binding is saved
                signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(App, "emit", interrupting)
    env = {"TILLBRIDGE_SECRET_KEY": KEY.decode(), "TILLBRIDGE_HOME": str(tmp_path / "home")}
    url = shop.app.database_url

    def sync() -> object:
        return CliRunner().invoke(build_cli(), ["--database-url", url, "sync", "--once", "-c", shop.name,
                                                "--flow", "sales"], env=env)

    stopped = sync()
    assert stopped.exit_code == 130, stopped.output
    assert "Traceback" not in stopped.output and "Interrupted" in stopped.output
    assert "Run the same command again" in " ".join(stopped.output.split())
    partly = len(shop.ul.sales_orders())
    assert 0 < partly < len(sales)  # stopped in the middle

    again = sync()
    assert again.exit_code == 0, again.output
    refs = [o["CustomerRef"] for o in shop.ul.sales_orders()]
    assert len(refs) == len(set(refs))  # not one order twice
    assert sales <= set(refs) <= {s["invoice_number"] for s in shop.ls.sales()}  # none missing (parked ones too)
    assert shop.sync("sales")["sales"].created == 0


def test_a_disk_that_fills_up_during_a_sync_is_said_and_the_rerun_duplicates_nothing(
        shop_factory: Callable[..., Shop], tmp_path: Path) -> None:
    import sqlite3

    import sqlalchemy as sa

    shop = shop_factory(ls_options={"products": 10, "customers": 4, "sales": 20})
    shop.map({0: "W1", 1: "W2", 2: "W3"})
    shop.sync("products", "customers")
    env = {"TILLBRIDGE_SECRET_KEY": KEY.decode(), "TILLBRIDGE_HOME": str(tmp_path / "home")}
    url = shop.app.database_url

    def sync() -> object:
        return CliRunner().invoke(build_cli(), ["--database-url", url, "sync", "--once", "-c", shop.name,
                                                "--flow", "sales"], env=env)

    def disk_full(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        # The orders were written to Unleashed; saving what was written needs space there is not.
        if statement.startswith("INSERT INTO binding"):
            raise sa.exc.OperationalError(statement, parameters, sqlite3.OperationalError("database or disk is full"))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", disk_full)
    try:
        failed = sync()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", disk_full)
    words = " ".join(failed.output.split())
    assert failed.exit_code == 2 and "Traceback" not in failed.output, failed.output
    assert "is full" in words and "free some space" in words, words
    assert shop.ul.sales_orders()  # written before the disk filled

    again = sync()
    assert again.exit_code == 0, again.output
    refs = [o["CustomerRef"] for o in shop.ul.sales_orders()]
    assert len(refs) == len(set(refs))
    assert {s["invoice_number"] for s in shop.ls.sales() if s["status"] == "CLOSED"} <= set(refs)
    assert shop.sync("sales")["sales"].created == 0

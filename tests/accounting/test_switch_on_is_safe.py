"""Whatever path turns the accounting invoice on, invoices made before that moment stay put.

The console's switch, ``tillbridge settings set accounting_invoice on``, ``tillbridge accounting
enable`` and code calling ``App.set_settings`` all go through one place in core
(``complete_settings``), where the accounting plugin records the moment; an earlier start date
is only used when the same change names it on purpose.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable

import pytest
from click.testing import CliRunner

from tillbridge.cli.main import build_cli
from tillbridge.web import create_console_app, set_password
from tillbridge_accounting import services as accounting
from starlette.testclient import TestClient

from .books import KEY, NAME, Books

PASSWORD = "correct horse battery staple"


def _sold_before(books_factory: Callable[..., Books]) -> Books:
    """Three sales already invoiced in the inventory system while the switch was off."""
    books = books_factory(enable=False)
    books.sell(3)
    books.sync()
    assert len(books.ul_invoices()) == 3 and not books.provider_invoices()
    return books


def _only_new_ones_go(books: Books, switched_at: datetime) -> None:
    since = books.app.store.settings(books.conn_id)["accounting_since"]
    assert switched_at <= datetime.fromisoformat(since) <= datetime.now(timezone.utc)
    books.sell(2)
    books.sync()
    assert len(books.provider_invoices()) == 2  # the three made before stay out of the books


def _cli(books: Books, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("TILLBRIDGE_SECRET_KEY", KEY.decode())
    result = CliRunner().invoke(build_cli(), ["--database-url", books.database_url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    books.restart()  # the CLI wrote to the database from another app
    return result


def test_the_console_switch(books_factory: Callable[..., Books]) -> None:
    books = _sold_before(books_factory)
    set_password(books.app, PASSWORD)
    client = TestClient(create_console_app(books.app), base_url="http://127.0.0.1:8765", follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"password": PASSWORD, "csrf_token": token})
    page = client.get(f"/c/{NAME}/config").text
    assert "only invoices made from the moment you switch it on are sent" in " ".join(page.split())
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    switched_at = datetime.now(timezone.utc)
    saved = client.post(f"/c/{NAME}/settings", data={"accounting_invoice": "on", "csrf_token": token},
                        follow_redirects=True)
    assert saved.status_code == 200
    text = " ".join(saved.text.split())
    assert re.search(r"Invoices dated from \d{4}-\d\d-\d\d \d\d:\d\d UTC are sent to Xero", text), text[-3000:]
    _only_new_ones_go(books, switched_at)


def test_settings_set_on_the_command_line(books_factory: Callable[..., Books], monkeypatch: pytest.MonkeyPatch) -> None:
    books = _sold_before(books_factory)
    switched_at = datetime.now(timezone.utc)
    _cli(books, monkeypatch, "settings", "set", "accounting_invoice", "on", "-c", NAME)
    _only_new_ones_go(books, switched_at)


def test_accounting_enable(books_factory: Callable[..., Books], monkeypatch: pytest.MonkeyPatch) -> None:
    books = _sold_before(books_factory)
    switched_at = datetime.now(timezone.utc)
    _cli(books, monkeypatch, "accounting", "enable", "-c", NAME)
    _only_new_ones_go(books, switched_at)


def test_any_programmatic_write_and_a_switch_turned_on_again(books_factory: Callable[..., Books]) -> None:
    books = _sold_before(books_factory)
    switched_at = datetime.now(timezone.utc)
    books.settings(accounting_invoice=True)  # App.set_settings, as a script or an API would
    _only_new_ones_go(books, switched_at)
    books.settings(accounting_invoice=False)
    books.sell(1)
    books.sync()
    again = datetime.now(timezone.utc)
    books.settings(accounting_invoice=True)  # the start of the first time is not reused
    assert datetime.fromisoformat(books.app.store.settings(books.conn_id)["accounting_since"]) >= again
    books.sync()
    assert len(books.provider_invoices()) == 2  # the one made while off stays out too


def test_an_earlier_start_picked_on_purpose_is_kept(books_factory: Callable[..., Books]) -> None:
    books = _sold_before(books_factory)
    books.settings(accounting_invoice=True, accounting_since="2000-01-01T00:00:00+00:00")
    assert books.app.store.settings(books.conn_id)["accounting_since"] == "2000-01-01T00:00:00+00:00"
    books.sync()
    assert len(books.provider_invoices()) == 3
    status = accounting.status(books.app, NAME, live=False)
    assert status.enabled and status.since == datetime(2000, 1, 1, tzinfo=timezone.utc)


def test_a_start_that_is_not_a_date_is_refused_with_the_format(books_factory: Callable[..., Books]) -> None:
    from tillbridge import SettingError

    books = books_factory(enable=False)
    with pytest.raises(SettingError, match="accounting_since must be a date") as refused:
        books.settings(accounting_invoice=True, accounting_since="last tuesday")
    assert "YYYY-MM-DD" in (refused.value.fix or "")
    assert "accounting_invoice" not in books.app.store.settings(books.conn_id)

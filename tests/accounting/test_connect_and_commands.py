"""Connecting (OAuth 2.0 in a browser, Xero's organisation from /connections, QuickBooks' realmId),
token refresh serialised between workers, the double-posting check, and the CLI."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable, Iterator

import httpx
import pytest
from click.testing import CliRunner

from tillbridge import AuthError, ConfigError
from tillbridge.app import App
from tillbridge.cli.main import build_cli
from tillbridge.emulation import BackgroundServer
from tillbridge_accounting import services as accounting
from tillbridge_accounting.emulator import consent
from tillbridge_accounting.emulator import QuickBooksEmulator, XeroEmulator

from .books import KEY, NAME, Books


def _browser(url: str, organisation: str | None = None) -> None:
    """The person approving the app on the provider's consent page, sent back to our loopback page."""
    consent.approve(url, organisation=organisation)


@pytest.fixture
def xero_two_orgs() -> Iterator[tuple[XeroEmulator, str]]:
    emulator = XeroEmulator(seed=2, options={"tenants": [{"name": "Kiwi Retail Ltd"}, {"name": "Kiwi Holdings"}]})
    with BackgroundServer(emulator) as server:
        yield emulator, server.url


def _connect_xero(app: App, url: str, emulator: XeroEmulator, organisation: str | None,
                  deny: bool = False) -> accounting.ConnectResult:
    return accounting.connect_xero(
        app, NAME, client_id=emulator.settings.client_id, client_secret=emulator.settings.client_secret,
        api_url=f"{url}/api.xro/2.0", identity_url=url, login_url=url, open_browser=False,
        visit=lambda address: consent.approve(address, organisation=organisation, deny=deny),
        announce=lambda _: None)


def test_connect_xero_takes_the_organisation_picked_on_the_consent_page_and_stores_tokens_encrypted(
        make_app: Callable[..., App], xero_two_orgs: tuple[XeroEmulator, str]) -> None:
    emulator, url = xero_two_orgs
    app = make_app()
    with pytest.raises(AuthError, match="access was not allowed") as denied:
        _connect_xero(app, url, emulator, None, deny=True)
    assert "allow access" in (denied.value.fix or "")
    result = _connect_xero(app, url, emulator, "Kiwi Holdings")
    assert result.description == "Xero organisation 'Kiwi Holdings'"
    assert [t.split(" (")[0] for t in result.tenants] == ["Kiwi Holdings"]  # only the one picked
    conn = app.store.connection(NAME)
    stored = app.store.credentials(conn.id or 0, "xero")
    assert stored["tenant_id"] == emulator.tenant_id(1) and stored["refresh_token"]
    with app.store.session() as s:
        from sqlmodel import select

        from tillbridge.storage.models import Credential

        raw = s.exec(select(Credential)).one().ciphertext
    assert stored["refresh_token"].encode() not in raw  # encrypted at rest
    assert accounting.provider_of(app, NAME).check() == "Xero organisation 'Kiwi Holdings'"
    # connecting again and picking the other one: the connections of that consent, not every one
    assert _connect_xero(app, url, emulator, "Kiwi Retail Ltd").description == "Xero organisation 'Kiwi Retail Ltd'"


def test_the_consent_page_refuses_a_wrong_login_and_shows_the_organisations(
        xero_two_orgs: tuple[XeroEmulator, str]) -> None:
    emulator, url = xero_two_orgs
    with httpx.Client(base_url=url) as http:
        page = http.get("/identity/connect/authorize", params={
            "response_type": "code", "client_id": emulator.settings.client_id, "scope": "openid accounting.settings",
            "redirect_uri": "http://127.0.0.1:9/callback", "state": "s1"})
        assert page.status_code == 200 and "Kiwi Retail Ltd" in page.text and "Kiwi Holdings" in page.text
        again = consent.submit(http, page, password="wrong")
        assert again.status_code == 200 and "do not match" in again.text
        answer = consent.submit(http, again, deny=True)
        assert answer.status_code == 302
        assert answer.headers["location"].endswith("?error=access_denied&state=s1")


def test_two_workers_never_burn_a_rotating_refresh_token(make_app: Callable[..., App], tmp_path: Any) -> None:
    """QuickBooks kills a refresh token the moment it is used (no grace here): a second worker
    that refreshed with its stale copy would lose the connection. It re-reads the stored pair."""
    emulator = QuickBooksEmulator(seed=3)
    with BackgroundServer(emulator) as server:
        url = server.url
        database = f"sqlite:///{tmp_path / 'workers.sqlite'}"
        first = make_app(database)
        result = accounting.connect_quickbooks(
            first, NAME, client_id=emulator.settings.client_id, client_secret=emulator.settings.client_secret,
            api_url=url, token_url=f"{url}/oauth2/v1/tokens/bearer", authorize_url=f"{url}/connect/oauth2",
            open_browser=False, visit=_browser, announce=lambda _: None)
        assert result.description == "QuickBooks company 'Demo Retail Pty Ltd'"
        second = make_app(database)
        worker_a = accounting.provider_of(first, NAME)
        worker_b = accounting.provider_of(second, NAME)
        worker_a.check(), worker_b.check()  # both hold the same tokens in memory
        tokens_before = emulator.stats.count("POST /oauth2/v1/tokens/bearer")

        emulator.clock.advance(3700)  # the access token has expired for both
        assert worker_a.check()  # 401 → refresh → the new pair is saved
        assert worker_b.check()  # 401 → re-reads the stored pair instead of refreshing again
        assert emulator.stats.count("POST /oauth2/v1/tokens/bearer") == tokens_before + 1
        stored = first.store.credentials(first.store.connection(NAME).id or 0, "quickbooks")
        assert worker_b.context.credentials["refresh_token"] == stored["refresh_token"]


def test_doctor_finds_our_sales_posted_by_another_app_and_enable_refuses(books_factory: Callable[..., Books]) -> None:
    books = books_factory(enable=False)
    sales = books.sell(3)
    report = accounting.doctor(books.app, NAME)
    assert report.sales_checked == 3 and not report.risky

    other = sales[1]
    books.books.add_invoice_from_other_app(None, other["invoice_number"], Decimal("25.00"), "Cash sales")
    report = accounting.doctor(books.app, NAME)
    assert report.risky and [r.reference for r in report.others] == [other["invoice_number"]]
    with pytest.raises(accounting.DoublePostingRisk, match="post every sale twice"):
        accounting.enable(books.app, NAME)
    assert "invoices" not in books.sync()  # still off

    accounting.enable(books.app, NAME, force=True)
    books.sell(2)
    assert books.sync()["invoices"].created == 5 - 3  # only the two made after enabling
    report = accounting.doctor(books.app, NAME)
    assert len(report.others) == 1 and report.ours == 2  # our own invoices are not mistaken for theirs


def test_the_accounting_commands(xero_books: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    books = xero_books
    books.sell(3)
    books.sync()
    monkeypatch.setenv("TILLBRIDGE_SECRET_KEY", KEY.decode())
    cli = build_cli()
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(cli, ["--database-url", books.database_url, *args], catch_exceptions=False)
        result.text = " ".join(result.output.split())  # rich wraps long lines
        return result

    status = run("accounting", "status", "-c", NAME)
    assert status.exit_code == 0, status.output
    assert "on" in status.text and "Xero (Demo Retail Ltd)" in status.text
    assert "sent 3 · pending 0 · deferred 0 · failed 0" in status.text
    assert "daily API budget left:" in status.text

    refused = run("accounting", "map-account", "default", "999", "-c", NAME)
    assert refused.exit_code == 2 and "no active account with code '999'" in refused.text
    assert "200 Sales" in refused.text  # the fix lists the accounts that would do
    assert run("accounting", "map-account", "default", "260", "-c", NAME).exit_code == 0
    assert run("accounting", "map-tax", "G.S.T.", "OUTPUT2", "-c", NAME).exit_code == 0
    settings = books.app.store.settings(books.conn_id)
    assert settings["accounting_sales_account"] == "260"
    assert settings["accounting_tax_map"] == {"G.S.T.": "OUTPUT2"}

    doctor = run("accounting", "doctor", "-c", NAME)
    assert doctor.exit_code == 0 and "OK" in doctor.text and "3 by tillbridge" in doctor.text

    assert run("accounting", "disable", "-c", NAME).exit_code == 0
    books.sell(2)
    books.sync()
    assert len(books.provider_invoices()) == 3
    missing = run("accounting", "send", "--since", "2000-01-01", "-c", NAME)
    assert missing.exit_code == 2 and "switched off" in missing.text
    assert run("accounting", "enable", "-c", NAME).exit_code == 0
    sent = run("accounting", "send", "--since", "2000-01-01", "-c", NAME)
    assert sent.exit_code == 0, sent.output
    assert len(books.provider_invoices()) == 5
    invoices = sorted(books.provider_invoices(), key=lambda i: i["InvoiceNumber"])
    assert {ln["AccountCode"] for inv in invoices[:3] for ln in inv["LineItems"]} == {"200"}
    assert {ln["AccountCode"] for inv in invoices[3:] for ln in inv["LineItems"]} == {"260"}  # mapped since
    assert "connect a xero organisation" in run("connect", "xero", "--help").text.lower()


def test_no_more_than_five_calls_in_flight_against_one_organisation(make_app: Callable[..., App]) -> None:
    """Xero allows 5 concurrent calls per organisation; a sixth would be refused with a 429."""
    import threading
    import time

    emulator = XeroEmulator(seed=4)
    with BackgroundServer(emulator) as server:
        app = make_app()
        accounting.attach_emulator(app, NAME, emulator, server.url)
        xero = accounting.provider_of(app, NAME)
        tenant = emulator.tenant_id()
        emulator.hold_requests()
        answers: list[Any] = []
        workers = [threading.Thread(target=lambda: answers.append(xero.refresh_budget())) for _ in range(8)]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 10
        while emulator.in_flight(tenant) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert emulator.in_flight(tenant) == 5  # five admitted and held; three wait on our side
        emulator.release_requests()
        for worker in workers:
            worker.join(10)
        assert len(answers) == 8
        assert set(emulator.stats.as_dict()["by_status"]) == {"200"}  # not one 429


def test_connect_commands_run_the_browser_flow(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`tillbridge connect xero|quickbooks --emulator URL`: the browser is a thread that approves."""
    import threading

    import tillbridge.oauth

    monkeypatch.setattr(tillbridge.oauth.webbrowser, "open",
                        lambda url: threading.Thread(target=_browser, args=(url,), daemon=True).start())
    monkeypatch.setenv("TILLBRIDGE_SECRET_KEY", KEY.decode())
    database = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    xero, qbo = XeroEmulator(seed=5), QuickBooksEmulator(seed=5)
    with BackgroundServer(xero) as xs, BackgroundServer(qbo) as qs:
        cli = build_cli()
        runner = CliRunner()
        done = runner.invoke(cli, ["--database-url", database, "connect", "xero", "-c", "north", "--emulator", xs.url,
                                   "--client-id", xero.settings.client_id,
                                   "--client-secret", xero.settings.client_secret], catch_exceptions=False)
        assert done.exit_code == 0, done.output
        assert "Connected: Xero organisation 'Demo Retail Ltd'" in " ".join(done.output.split())
        done = runner.invoke(cli, ["--database-url", database, "connect", "quickbooks", "-c", "south", "--emulator",
                                   qs.url, "--client-id", qbo.settings.client_id,
                                   "--client-secret", qbo.settings.client_secret], catch_exceptions=False)
        assert done.exit_code == 0, done.output
        assert "QuickBooks company 'Demo Retail Pty Ltd'" in " ".join(done.output.split())
        app = App(database, secret_key=KEY)
        try:
            south = app.store.credentials(app.store.connection("south").id or 0, "quickbooks")
            assert south["realm_id"] == qbo.realm_id and south["refresh_token"].startswith("AB11")
            assert app.runtime("north").system_of("accounting") == "xero"
        finally:
            app.close()

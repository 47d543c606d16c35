"""The command line a retailer uses, with click's CliRunner: what it does and how it refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner, Result

from tillbridge.cli.main import build_cli

from .shopkit import KEY, Shop


class Cli:
    def __init__(self, shop: Shop, home: Path) -> None:
        self.shop = shop
        self.env = {"TILLBRIDGE_SECRET_KEY": KEY.decode(), "TILLBRIDGE_HOME": str(home),
                    "TILLBRIDGE_CONNECTION": shop.name}
        self.url = shop.app.database_url

    def __call__(self, *args: str, ok: bool = True) -> Result:
        result = CliRunner().invoke(build_cli(), ["--database-url", self.url, *args], env=self.env)
        # Never a traceback: either success or a handled exit with a message.
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert "Traceback" not in result.output
        if ok:
            assert result.exit_code == 0, result.output
        else:
            assert result.exit_code == 2, result.output  # a user error, shown as "Error: … → fix"
        return result


def said(result: Result) -> str:
    """The output with line wrapping undone (rich wraps at the terminal width)."""
    return " ".join(result.output.split())


@pytest.fixture
def cli(shop_factory: Callable[..., Shop], tmp_path: Path) -> Cli:
    return Cli(shop_factory(ls_options={"products": 6, "customers": 2, "outlets": 4}), tmp_path / "home")


def test_locations_and_the_one_to_one_map(cli: Cli) -> None:
    shop = cli.shop
    assert "4 outlets, 3 warehouses" in said(cli("outlets", "reload"))
    assert "3 warehouses" in said(cli("warehouses"))
    first, second = shop.outlet(0)["name"], shop.outlet(1)["name"]
    assert f"Mapped outlet {first} → warehouse" in said(cli("map", first, "W1"))
    refused = said(cli("map", second, "w1", ok=False))  # codes and names match case-insensitively
    assert "already mapped to outlet" in refused and first in refused and "unmap that outlet first" in refused
    assert "there is no outlet 'Nowhere'" in said(cli("map", "Nowhere", "W2", ok=False))
    missing = said(cli("map", second, "W9", ok=False))
    assert "there is no warehouse 'W9'" in missing and "known warehouses" in missing
    cli("map", second, "W2")
    table = said(cli("mappings"))
    assert first in table and second in table
    assert f"Unmapped outlet {second}" in said(cli("unmap", second))
    assert "is not mapped" in said(cli("unmap", second, ok=False))
    assert shop.app.store.location_map(shop.conn_id) == {shop.outlet(0)["id"]: shop.warehouse("W1")["Guid"]}


def test_settings_are_validated_with_clear_messages(cli: Cli) -> None:
    assert "export_stock" in said(cli("settings", "show"))
    assert "there is no setting 'export_stok'" in said(cli("settings", "set", "export_stok", "on", ok=False))
    assert "export_stock must be true or false, not 'maybe'" in said(
        cli("settings", "set", "export_stock", "maybe", ok=False))
    assert "must be a whole number" in said(cli("settings", "set", "log_retention_days", "lots", ok=False))
    assert "must be at least 1" in said(cli("settings", "set", "log_retention_days", "0", ok=False))
    assert "product_master cannot be 'both'" in said(cli("settings", "set", "product_master", "both", ok=False))
    assert "JSON object" in said(cli("settings", "set", "tax_map", "15%=GST", ok=False))
    needs = said(cli("settings", "set", "include_assembled", "on", ok=False))
    assert "include_assembled needs export_stock to be on" in needs and "settings set export_stock on" in needs
    refused = said(cli("settings", "set", "sales_group", "Market", ok=False))
    assert "no sales group 'Market'" in refused and "Retail" in refused
    assert "give NAME VALUE pairs" in said(cli("settings", "set", "export_stock", ok=False))
    ok = said(cli("settings", "set", "export_stock", "on", "include_assembled", "on", "sales_group", "retail"))
    assert "export_stock = on" in ok and "include_assembled = on" in ok and "sales_group = Retail" in ok
    values = cli.shop.app.settings(cli.shop.app.store.connection(cli.shop.name))
    assert (values["export_stock"], values["include_assembled"], values["sales_group"]) == (True, True, "Retail")


def test_data_commands_and_their_errors(cli: Cli) -> None:
    shop = cli.shop
    cli("outlets", "reload")
    cli("map", shop.outlet(0)["name"], "W1")
    synced = said(cli("sync", "--once"))
    assert "products: read 6 products from lightspeed, created 6 products in unleashed" in synced

    assert "'yesterday' is not a date" in said(cli("import", "sales", "--since", "yesterday", ok=False))
    assert "is not a date" in said(cli("import", "products", "--since", "2026-13-01", ok=False))
    assert "is not a date" in said(cli("log", "--since", "soon", ok=False))
    assert "is not a date" in said(cli("reimport", "--since", "someday", ok=False))
    assert "Invalid value for '--entity'" in said(cli("log", "--entity", "widgets", ok=False))
    assert "there is no connection named 'nope'" in said(cli("sync", "--once", "-c", "nope", ok=False))

    imported = said(cli("import", "products", "--since", "2000-01-01"))
    assert "products: read 6 products from lightspeed, 6 already up to date" in imported
    assert "created 7 products in lightspeed" in said(cli("export", "products"))
    assert "customers: read 2 customers from lightspeed, updated 2 customers in unleashed" in said(  # not compared
        cli("import", "customers", "--since", "2000-01-01"))
    assert "sales: read 0 sales from lightspeed" in said(cli("import", "sales", "--since", "2000-01-01T00:00:00Z"))

    sale = shop.sell(3, [(shop.sellable()[0], 1)])  # the fourth outlet is not mapped
    assert "1 held until the cause is fixed" in said(cli("sync", "--once"))
    log = said(cli("log", "--level", "all", "--entity", "sale"))
    assert sale["invoice_number"] in log and "held" in log and "tillbridge map" in log
    assert "The log is empty" in said(cli("log", "--level", "error", "--entity", "sale"))
    assert "no open failure for record 'NOPE'" in said(cli("reimport", "--record", "NOPE", ok=False))
    assert "Nothing to re-import" in said(cli("reimport", "--entity", "product"))
    cli("map", shop.outlet(3)["name"], "W3")
    assert "created 1 orders in unleashed" in said(cli("reimport", "--record", sale["invoice_number"]))
    assert "Removed 0 log entries older than 90 days" in said(cli("log", "prune"))


def test_connect_unleashed_checks_the_key_with_one_signed_call_before_saving(cli: Cli) -> None:
    shop = cli.shop
    creds = shop.ul.credentials(shop.ul_url)
    before = shop.ul.stats.total
    refused = said(cli("connect", "unleashed", "-c", "cli", "--api-id", creds["api_id"],
                       "--api-key", "not-the-key", "--base-url", shop.ul_url, ok=False))
    assert "Unleashed refused the API id and key (HTTP 403)" in refused and "check them" in refused
    assert shop.ul.stats.total - before == 1  # one signed call, no retries of a refusal
    assert [c.name for c in shop.app.store.connections()] == [shop.name]  # nothing saved

    done = said(cli("connect", "unleashed", "-c", "cli", "--api-id", creds["api_id"],
                    "--api-key", creds["api_key"], "--base-url", shop.ul_url))
    assert "Connected: Unleashed account: 3 warehouses" in done
    conn = shop.app.store.connection("cli").id or 0
    assert shop.app.store.credentials(conn, "unleashed")["api_key"] == creds["api_key"]


def test_connect_lightspeed_with_a_personal_token(cli: Cli) -> None:
    shop = cli.shop
    refused = said(cli("connect", "lightspeed", "-c", "cli", "--personal-token", "wrong",
                       "--base-url", shop.ls_url, ok=False))
    assert "Lightspeed refused our credentials" in refused
    assert [c.name for c in shop.app.store.connections()] == [shop.name]
    token = shop.ls.credentials(shop.ls_url)["personal_token"]
    # A personal token does not say which store it opens: the name comes from GET /retailer.
    retailer = shop.ls.store.retailer["name"]
    assert f"Connected: Lightspeed store {retailer}: 4 outlets" in said(cli(
        "connect", "lightspeed", "-c", "cli", "--personal-token", token, "--base-url", shop.ls_url))
    assert "4 outlets" in said(cli("outlets", "reload", "-c", "cli"))


def test_connect_lightspeed_installs_the_app_and_refreshes_an_expired_token(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    import tillbridge_lightspeed.commands as commands
    from tillbridge.oauth import authorize_in_browser

    shop = cli.shop
    visited: list[str] = []

    def retailer_approves(url: str) -> None:  # the browser: the authorize page redirects to us
        visited.append(url)
        httpx.get(url, follow_redirects=True, timeout=10)

    def headless(*args: Any, **kwargs: Any) -> Any:
        kwargs.update(open_browser=False, visit=retailer_approves, timeout=20)
        return authorize_in_browser(*args, **kwargs)

    monkeypatch.setattr(commands, "authorize_in_browser", headless)
    app_creds = shop.ls.credentials(shop.ls_url)
    done = said(cli("connect", "lightspeed", "-c", "cli", "--base-url", shop.ls_url,
                    "--client-id", app_creds["client_id"], "--client-secret", app_creds["client_secret"]))
    assert "Connected: Lightspeed store Demostore: 4 outlets" in done  # the retailer's name
    assert visited and visited[0].startswith(f"{shop.ls_url}/connect?response_type=code")
    store = shop.app.store
    conn = store.connection("cli").id or 0
    saved = store.credentials(conn, "lightspeed")
    assert saved["access_token"] and saved["refresh_token"] and saved["domain_prefix"] == "demostore"
    raw = Path(shop.app.database_url.removeprefix("sqlite:///")).read_bytes()
    assert saved["access_token"].encode() not in raw and saved["refresh_token"].encode() not in raw  # encrypted

    shop.ls.clock.advance(2 * 86400)  # the access token (a day) has expired at Lightspeed
    before = shop.ls.stats.count("POST /api/1.0/token")
    assert "4 outlets" in said(cli("outlets", "reload", "-c", "cli"))
    assert shop.ls.stats.count("POST /api/1.0/token") == before + 1  # refreshed once, then retried
    renewed = store.credentials(conn, "lightspeed")
    assert renewed["access_token"] != saved["access_token"]
    assert renewed["refresh_token"] != saved["refresh_token"]  # rotated, and the new pair is kept

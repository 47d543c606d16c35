"""The console's pages and actions over plain HTTP: the same services and refusals as the CLI."""

from __future__ import annotations

import re
import threading
import urllib.parse

import httpx
import pytest
from click.testing import CliRunner

from tillbridge import services
from tillbridge.cli.main import cli
from tillbridge.errors import ConfigError
from tillbridge.runner import RunResult
from tillbridge.web.jobs import JobBoard

from .conftest import TOO_LONG_CODE, ConsoleEnv, csrf_of, flashes


def post(client, path: str, **data: str):  # type: ignore[no-untyped-def]
    """Submit a form as the browser does: with the CSRF token of the page, following the redirect."""
    token = csrf_of(client.get("/").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=True)


def cli_error(env: ConsoleEnv, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--database-url", env.app.database_url, *args])
    assert result.exit_code == 2, result.output
    return result.output


def test_settings_are_refused_with_the_cli_s_words_and_untouched_ones_stay_defaults(console_env: ConsoleEnv) -> None:
    env = console_env
    env.connect_directly()
    client = env.client()
    page = post(client, "/c/shop/settings", export_stock="off", include_assembled="on")
    assert "include_assembled needs export_stock to be on" in flashes(page.text)
    assert "include_assembled needs export_stock to be on" in cli_error(
        env, "settings", "set", "include_assembled", "on", "-c", "shop")
    assert 'id="set-include_assembled" name="include_assembled" value="on" checked' not in page.text
    page = post(client, "/c/shop/settings", interval_sales="1")
    assert "interval_sales must be at least 5, not 1" in flashes(page.text)
    assert 'value="1"' in page.text  # what was typed is shown again, to correct it
    page = post(client, "/c/shop/settings", sales_group="Nonexistent")
    assert "unleashed has no sales group 'Nonexistent'" in " ".join(flashes(page.text))
    assert "Nonexistent (not found in the list)" in page.text
    assert env.app.store.settings(env.app.store.connection("shop").id or 0) == {}
    page = post(client, "/c/shop/settings", export_stock="on", include_assembled="on", sales_group="online",
                default_customer="WALKIN", interval_sales="60")
    assert flashes(page.text) == ["Saved: export_stock, include_assembled, sales_group."]
    stored = env.app.store.settings(env.app.store.connection("shop").id or 0)
    assert stored == {"export_stock": True, "include_assembled": True, "sales_group": "Online"}  # Unleashed's spelling
    assert re.search(r'<option value="Online" selected>Online</option>', page.text)


def test_credentials_are_checked_live_and_a_refusal_changes_nothing(console_env: ConsoleEnv) -> None:
    env = console_env
    services.add_connection(env.app, "shop", {})
    client = env.client()
    creds = env.ul.credentials(env.ul_url)
    page = post(client, "/c/shop/systems/inventory", system="unleashed", base_url=env.ul_url,
                api_id=creds["api_id"], api_key="wrong")
    assert re.search(r'class="flash flash-error"', page.text)
    conn = env.app.store.connection("shop")
    assert env.app.store.systems(conn.id or 0) == {} and env.app.store.credentials(conn.id or 0, "unleashed") == {}
    assert f'value="{creds["api_id"]}"' in page.text and "wrong" not in page.text  # no secret echoed back
    page = post(client, "/c/shop/systems/inventory", system="unleashed", base_url=env.ul_url,
                api_id=creds["api_id"], api_key=creds["api_key"])
    assert flashes(page.text) == ["Connected: Unleashed account: 3 warehouses."]
    assert env.app.store.systems(conn.id or 0)["inventory"].base_url == env.ul_url
    # saving again with the key left blank keeps the stored key (and checks it again)
    page = post(client, "/c/shop/systems/inventory", system="unleashed", base_url=env.ul_url,
                api_id=creds["api_id"], api_key="")
    assert flashes(page.text) == ["Connected: Unleashed account: 3 warehouses."]


def test_an_install_answer_must_come_from_an_install_this_browser_started(console_env: ConsoleEnv) -> None:
    env = console_env
    services.add_connection(env.app, "shop", {})
    client = env.client()
    forged = client.get("/oauth/callback?code=stolen&state=forged", follow_redirects=True)
    assert "does not belong to an install started in this browser" in " ".join(flashes(forged.text))
    token = csrf_of(client.get("/c/shop").text)
    started = client.post("/c/shop/install/pos", data={"csrf_token": token, "system": "lightspeed",
                                                       "base_url": env.ls_url, "client_id": "tillbridge-demo",
                                                       "client_secret": "demo-client-secret"})
    authorize = started.headers["location"]
    assert authorize.startswith(f"{env.ls_url}/connect?")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query))
    assert query["redirect_uri"] == "http://127.0.0.1:8765/oauth/callback" and query["client_id"] == "tillbridge-demo"
    denied = httpx.get(authorize + "&deny=1")  # the retailer clicks "deny" on Lightspeed's page
    back = urllib.parse.urlsplit(denied.headers["location"])
    page = client.get(f"{back.path}?{back.query}", follow_redirects=True)
    assert "Lightspeed Retail (X-Series) was not connected: access was not allowed on its page" in " ".join(flashes(page.text))
    assert env.app.store.systems(env.app.store.connection("shop").id or 0) == {}
    replay = client.get(f"{back.path}?{back.query}", follow_redirects=True)  # each state works once
    assert "does not belong to an install" in " ".join(flashes(replay.text))


def test_outlets_map_and_unmap_with_the_refusal_naming_the_holder(console_env: ConsoleEnv) -> None:
    env = console_env
    env.connect_directly()
    client = env.client()
    page = post(client, "/c/shop/locations/reload")
    assert flashes(page.text) == ["Loaded 4 outlets and 3 warehouses."]
    conn = env.app.store.connection("shop")
    outlets = env.app.store.known_locations(conn.id or 0, "outlet")
    warehouses = env.app.store.known_locations(conn.id or 0, "warehouse")
    page = post(client, "/c/shop/map", outlet=outlets[0].location_id, warehouse=warehouses[0].location_id)
    assert flashes(page.text) == [f"Outlet {outlets[0].name} now sells from warehouse {warehouses[0].name}."]
    page = post(client, "/c/shop/map", outlet=outlets[3].location_id, warehouse=warehouses[0].location_id)
    assert f"is already mapped to outlet '{outlets[0].name}'" in flashes(page.text)[0]
    assert f"(taken by {outlets[0].name})" in page.text  # the keyboard's list says it too
    page = post(client, "/c/shop/unmap", outlet=outlets[0].location_id)
    assert "is no longer mapped" in flashes(page.text)[0]
    page = post(client, "/c/shop/map", outlet=outlets[3].location_id, warehouse=warehouses[0].location_id)
    assert env.app.store.location_map(conn.id or 0) == {outlets[3].location_id: warehouses[0].location_id}
    page = post(client, "/c/shop/map", outlet=outlets[1].location_id, warehouse="")
    assert flashes(page.text) == ["Choose an outlet and a warehouse to map it to."]


def test_an_import_runs_as_a_job_and_its_failure_is_in_the_log(console_env: ConsoleEnv) -> None:
    env = console_env
    env.connect_directly()
    client = env.client()
    bad = post(client, "/c/shop/jobs/import", entity="product", since="31/12/2020")
    assert "'31/12/2020' is not a date" in flashes(bad.text)
    assert env.web.state.console.jobs.jobs("shop") == []
    page = post(client, "/c/shop/jobs/import", entity="product", since="2000-01-01")
    assert flashes(page.text) == ["Started: Import products since 2000-01-01. Its progress shows below."]
    assert env.web.state.console.jobs.wait_all(timeout=60)
    panel = client.get("/c/shop/jobs").text
    assert 'data-state="done"' in panel and "hx-trigger" not in panel  # finished: the page stops polling
    polled = client.get("/c/shop/jobs", headers={"HX-Request": "true"})
    assert polled.headers["HX-Refresh"] == "true"  # and reloads once, to show what the job changed
    assert "1 failed, 0 held" in panel
    log = client.get("/c/shop/log?level=error&entity=product").text
    assert TOO_LONG_CODE[:38] in log and "shorten the product code" in log and "Re-import" in log
    assert TOO_LONG_CODE[:38] not in client.get("/c/shop/log?level=error&entity=customer").text
    assert "Nothing in the log" in client.get("/c/shop/log?since=2999-01-01").text
    assert "'soon' is not a date" in flashes(client.get("/c/shop/log?since=soon").text)
    overview = client.get("/").text
    assert re.search(r"Unresolved errors \(24 h\)</dt><dd class=\"error-text\">1</dd>", overview)
    assert re.search(r"Records waiting</dt><dd><a [^>]*>1</a>", overview)  # the two counters agree
    status = client.get("/c/shop").text
    products = status[status.index('data-flow="products"'):]
    products = products[:products.index("</li>")]
    assert re.search(r'<a class="badge badge-warning run-state" data-state="partial" href="[^"]*/log[^"]*">'
                     r"finished with 1 failure</a>", products), products  # not a green "ok"
    assert "1 waiting" in products and "moved today" in products
    data = client.get("/c/shop/data").text
    assert "1 record waiting: 1 product." in " ".join(data.split()) and "Products (1)" in data

    # fixed at its source and re-imported: the error is no longer a red 1 beside "0 waiting"
    env.ls.update_product(env.hamper_id, sku="HAMPER-DELUXE")
    services.reimport(env.app, "shop")
    overview = client.get("/").text
    assert re.search(r'Unresolved errors \(24 h\)</dt><dd class="">0<span class="muted small"> · 1 resolved</span>',
                     overview), overview
    assert re.search(r"Records waiting</dt><dd>0</dd>", overview)


def test_one_job_at_a_time_per_connection() -> None:
    board = JobBoard()
    release = threading.Event()

    def slow(progress):  # type: ignore[no-untyped-def]
        progress("products", 7)
        release.wait(10)
        return RunResult("products", fetched=7)

    first = board.start("shop", "Import", slow)
    with pytest.raises(ConfigError, match="already running"):
        board.start("shop", "Export", lambda progress: [])
    other = board.start("other", "Sync", lambda progress: [])  # another connection is not blocked
    release.set()
    assert board.wait_all(timeout=10)
    assert first.state == "done" and first.results[0].fetched == 7 and first.progress == {"products": 7}
    assert other.state == "done"
    failing = board.start("shop", "Broken", lambda progress: (_ for _ in ()).throw(ConfigError("no", fix="yes")))
    board.wait_all(timeout=10)
    assert (failing.state, failing.error, failing.fix) == ("failed", "no", "yes")


def test_the_accounting_system_can_be_disconnected_but_not_the_point_of_sale(console_env: ConsoleEnv) -> None:
    env = console_env
    env.connect_directly()
    conn = env.app.store.connection("shop")
    system = next(iter(s for s, c in env.app.registries.connectors.items() if "accounting" in c.roles), None)
    if system is None:
        pytest.skip("no accounting connector is installed")
    services.set_system(env.app, "shop", "accounting", system, None)
    env.app.store.save_credentials(conn.id or 0, system, {"client_id": "x"})
    client = env.client()
    assert "Disconnect" in client.get("/c/shop").text
    page = post(client, "/c/shop/disconnect/accounting")
    assert "credentials are forgotten" in flashes(page.text)[0]
    assert "accounting" not in env.app.store.systems(conn.id or 0)
    assert env.app.store.credentials(conn.id or 0, system) == {}
    refused = post(client, "/c/shop/disconnect/pos")
    assert "cannot be disconnected here" in flashes(refused.text)[0]
    assert "pos" in env.app.store.systems(conn.id or 0)

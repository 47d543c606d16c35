"""What a built-in plugin can do, this one does through the public API only: its own
``tillbridge connect csv`` command, its own durable state, its own flow ordered after another."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tillbridge.admin import Admin
from tillbridge.cli import CliState, TillbridgeGroup
from tillbridge.testing import ConnectionHarness, SystemUnderTest, build_connector, close_connector, temporary_app
from tillbridge_csv import plugin
from tillbridge_csv.connector import CsvFolderConnector
from tillbridge_csv.sample import PRODUCTS, write_sample
from tillbridge_csv.stamps import KEY


def _cli() -> click.Group:
    """A root group with the core's empty ``connect`` group, given to the plugin's hook."""
    root = TillbridgeGroup("tillbridge")
    root.add_command(TillbridgeGroup("connect"))
    plugin.register_commands(root)
    return root


# --- (a) tillbridge connect csv -----------------------------------------------------------------
def test_connect_checks_the_folder_then_saves_it_and_the_setting(tmp_path: Path) -> None:
    folder = write_sample(tmp_path / "drop")
    with temporary_app() as app:
        admin = Admin.of(app)
        result = CliRunner().invoke(_cli(), ["connect", "csv", str(folder), "-c", "shop", "--stock-file"],
                                    obj=CliState.for_app(app))
        assert result.exit_code == 0, result.output
        assert f"drop folder {folder.resolve()}: 2 outlets, {len(PRODUCTS)} products" in result.output
        assert "tillbridge connect unleashed -c shop" in result.output  # no inventory yet: says what is next
        shop = admin.connection("shop")
        assert shop.system_of("pos") == "csv" and shop.base_url_of("pos") == str(folder.resolve())
        settings = admin.settings("shop")
        assert settings["csv_stock_file"] is True and settings["import_opening_stock"] is False


def test_connect_refuses_a_missing_folder_and_saves_nothing(tmp_path: Path) -> None:
    with temporary_app() as app:
        result = CliRunner().invoke(_cli(), ["connect", "csv", str(tmp_path / "nowhere"), "-c", "shop"],
                                    obj=CliState.for_app(app))
        assert result.exit_code != 0
        assert "does not exist" in result.output and "Traceback" not in result.output
        assert Admin.of(app).find_connection("shop") is None


def test_the_flow_and_command_hooks_are_found_through_the_entry_point(tillbridge_app) -> None:  # type: ignore[no-untyped-def]
    info = {p.name: p for p in tillbridge_app.plugins.infos()}["csv"]
    assert {"register_flows", "register_settings", "register_commands"} <= set(info.hooks)
    flow = tillbridge_app.flows()["csv_stock"]
    assert flow.after == ("sales", "export_products") and flow.switch == "csv_stock_file"


# --- (b) durable state: a file saved again unchanged is not read again ----------------------------
@pytest.fixture
def shop(tmp_path: Path, tillbridge_system, tillbridge_connection) -> ConnectionHarness:  # type: ignore[no-untyped-def]
    folder = write_sample(tmp_path / "drop")
    harness = tillbridge_connection("shop", pos=SystemUnderTest("csv", str(folder)),
                                    inventory=tillbridge_system("unleashed"))
    harness.folder = folder  # type: ignore[attr-defined]
    return harness


def _touch(path: Path) -> None:
    later = path.stat().st_mtime + 3600
    os.utime(path, (later, later))


def test_a_file_saved_again_unchanged_is_not_read_as_changed(shop: ConnectionHarness) -> None:
    first = shop.sync("products")["products"]
    assert first.fetched == len(PRODUCTS)
    products = shop.folder / "products.csv"  # type: ignore[attr-defined]
    _touch(products)  # saved again, same content: every row would look changed by its time
    assert shop.sync("products")["products"].fetched == 0

    rows = list(csv.DictReader(products.open(encoding="utf-8")))
    rows[0]["description"] = "Changed by hand"
    with products.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    _touch(products)
    changed = shop.sync("products")["products"]
    assert changed.fetched == len(PRODUCTS) and changed.updated == 1  # new content: read, one row differs


def test_the_state_outlives_the_connector_instance(shop: ConnectionHarness) -> None:
    shop.sync("products")
    state = Admin.of(shop.app).state("shop", "csv")  # the namespace of the connector's context.state
    known = state.get(KEY)
    assert set(known) >= {"products.csv"}
    products = shop.folder / "products.csv"  # type: ignore[attr-defined]
    _touch(products)

    fresh = build_connector(CsvFolderConnector, str(shop.folder), {}, connection="shop", state=state)  # type: ignore[attr-defined]
    try:
        record = fresh.get("product", PRODUCTS[0][0])
    finally:
        close_connector(fresh)
    assert record is not None and record.updated_at is not None
    assert record.updated_at.isoformat() == known["products.csv"]["modified"]  # the remembered time

    stateless = build_connector(CsvFolderConnector, str(shop.folder), {})  # a bare check: file times
    try:
        plain = stateless.get("product", PRODUCTS[0][0])
    finally:
        close_connector(stateless)
    assert plain is not None and plain.updated_at is not None and plain.updated_at > record.updated_at


# --- (c) the plugin's own flow, after the core's sales ------------------------------------------
def test_the_stock_flow_runs_after_sales_and_writes_stock_csv(shop: ConnectionHarness) -> None:
    shop.map_all()
    shop.settings(csv_stock_file=True)
    order = list(shop.sync())  # every enabled flow, in the order of a sync pass
    assert "csv_stock" in order and order.index("csv_stock") > order.index("sales") > order.index("products")

    stock = shop.sync("csv_stock", "products")
    assert list(stock) == ["products", "csv_stock"]  # asked in any order, run in dependency order
    assert stock["csv_stock"].status == "ok", stock["csv_stock"]
    rows = list(csv.DictReader((shop.folder / "stock.csv").open(encoding="utf-8")))  # type: ignore[attr-defined]
    assert rows, "the flow wrote stock levels"
    ours = {p[0] for p in PRODUCTS}
    outlets = {loc.id for loc in shop.connector("pos").locations()}
    assert {r["location_id"] for r in rows} <= outlets
    assert {r["product_id"] for r in rows} <= ours
    assert len({(r["product_id"], r["location_id"]) for r in rows}) == len(rows)  # one row per product and outlet


def test_the_stock_flow_is_off_until_switched_on(shop: ConnectionHarness) -> None:
    assert "csv_stock" not in shop.sync()

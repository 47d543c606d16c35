"""Plugin controls and isolation: choose what loads; a broken plugin is reported, never fatal.

Third-party plugins are simulated as real installed distributions: a ``*.dist-info`` folder with
an ``entry_points.txt`` on ``sys.path``, which ``importlib.metadata`` finds like any other.
"""

from __future__ import annotations

import inspect
import json
import sys
import types
from decimal import Decimal
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from tillbridge import ConfigError, hookspecs
from tillbridge.cli.main import cli
from tillbridge.plugins import Plugins
from tillbridge.testing import temporary_app

SPECS = {name: fn for name, fn in vars(hookspecs).items()
         if callable(fn) and hasattr(fn, f"{hookspecs.PROJECT}_spec")}


def exploding_source() -> str:
    """A plugin implementing every hook (as specified now, so new hooks are covered) by raising."""
    lines = ["from tillbridge import hookimpl", ""]
    for name, fn in sorted(SPECS.items()):
        params = ", ".join(inspect.signature(fn).parameters)
        lines += ["@hookimpl", f"def {name}({params}):", f"    raise RuntimeError('{name} exploded')", ""]
    return "\n".join(lines)


def exploding_module() -> types.ModuleType:
    module = types.ModuleType("exploding_test_plugin")
    exec(compile(exploding_source(), "<exploding plugin>", "exec"), module.__dict__)
    return module


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """``install(entry_point_name, module_source)``: an installed third-party plugin, for one test."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    modules: list[str] = []

    def install(name: str, source: str) -> None:
        module = f"tillbridge_testplugin_{name}"
        (site / f"{module}.py").write_text(source, encoding="utf-8")
        info = site / f"tillbridge_testplugin_{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tillbridge-testplugin-{name}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[tillbridge]\n{name} = {module}\n")
        modules.append(module)

    yield install
    for module in modules:
        sys.modules.pop(module, None)


def _listed(*args: str) -> dict[str, dict]:  # type: ignore[type-arg]
    result = CliRunner().invoke(cli, ["plugins", "--json", *args])
    assert result.exit_code == 0, result.output
    return {p["name"]: p for p in json.loads(result.output)}


# --- TILLBRIDGE_LOAD_PLUGINS / TILLBRIDGE_DISABLE_PLUGINS ------------------------------------------
def test_load_plugins_loads_only_the_named_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILLBRIDGE_LOAD_PLUGINS", "lightspeed")
    assert set(_listed()) == {"lightspeed"}
    with temporary_app() as app:
        assert set(app.registries.connectors) == {"lightspeed"}
        with pytest.raises(ConfigError, match="no connector for system 'unleashed'"):
            app.connector_class("unleashed")


def test_disable_plugins_skips_the_named_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILLBRIDGE_DISABLE_PLUGINS", "unleashed, accounting")
    listed = _listed()
    assert "lightspeed" in listed and "unleashed" not in listed and "accounting" not in listed
    with temporary_app() as app:
        assert "lightspeed" in app.registries.connectors and "unleashed" not in app.registries.connectors


def test_disabling_a_plugin_that_crashes_on_import_means_it_is_never_imported(
        install_plugin: Callable[[str, str], None], monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin("crashy", "raise SystemExit('this plugin would take the process down')\n")
    monkeypatch.setenv("TILLBRIDGE_DISABLE_PLUGINS", "crashy")
    plugins = Plugins()
    assert "crashy" not in plugins.broken and not plugins.pm.has_plugin("crashy")
    assert "tillbridge_testplugin_crashy" not in sys.modules


# --- a plugin that fails to import ----------------------------------------------------------------
def test_a_plugin_that_fails_to_import_is_listed_as_broken_and_the_rest_load(
        install_plugin: Callable[[str, str], None]) -> None:
    install_plugin("missingdep", "import frobnicate_not_installed\n")
    listed = _listed()
    assert listed["missingdep"]["error"].startswith("failed to import: ModuleNotFoundError")
    assert "frobnicate_not_installed" in listed["missingdep"]["error"]
    assert listed["lightspeed"]["error"] is None and listed["unleashed"]["error"] is None
    with temporary_app() as app:
        assert {"lightspeed", "unleashed"} <= set(app.registries.connectors)


def test_a_plugin_that_fails_validation_is_listed_as_broken(install_plugin: Callable[[str, str], None]) -> None:
    install_plugin("typo", "from tillbridge import hookimpl\n\n@hookimpl\ndef register_conectors(register):\n"
                           "    pass\n")
    listed = _listed()
    assert "register_conectors" in listed["typo"]["error"]
    assert listed["lightspeed"]["error"] is None


# --- a plugin that raises in every hook -----------------------------------------------------------
def test_a_plugin_raising_in_every_hook_leaves_the_other_connectors_syncing(
        tillbridge_register_plugin: Callable[..., None], retailer) -> None:  # type: ignore[no-untyped-def]
    app = retailer.app
    tillbridge_register_plugin(exploding_module(), name="exploding", app=app)
    retailer.settings(import_opening_stock=False)  # Unleashed's stock is what the test receives

    products = retailer.sync("products")["products"]
    assert products.status == "ok" and products.failed == 0
    assert products.created == len(retailer.ul.products()) - 7  # the Unleashed account had 7 of its own
    retailer.map_all()  # map_location and compute_available are exercised by the stock export
    retailer.settings(export_stock=True)
    code = next(p["sku"] for p in retailer.ls.products() if p.get("sku") and retailer.ul.product_by_code(p["sku"]))
    for warehouse in ("W1", "W2", "W3"):
        retailer.ul.receive_stock(code, warehouse, Decimal(5))
    stock = retailer.sync("stock")["stock"]
    assert stock.status == "ok" and stock.written > 0

    assert app.plugins.broken["exploding"].endswith("exploded")
    info = {p.name: p for p in app.plugins.infos()}
    assert info["exploding"].error and info["lightspeed"].error is None and info["unleashed"].error is None


@pytest.fixture
def half_written_plugin(install_plugin: Callable[[str, str], None]) -> str:
    """Installed before the retailer's app is built (fixtures are set up in argument order)."""
    install_plugin("halfwritten", "raise RuntimeError('half-written plugin')\n")
    return "halfwritten"


def test_a_plugin_failing_to_import_does_not_stop_a_sync(half_written_plugin: str, retailer) -> None:  # type: ignore[no-untyped-def]
    assert retailer.app.plugins.broken[half_written_plugin] == "failed to import: RuntimeError: half-written plugin"
    products = retailer.sync("products")["products"]
    assert products.status == "ok" and products.created > 0 and products.failed == 0


def test_tillbridge_plugins_reports_a_plugin_that_raises_in_its_hooks(
        install_plugin: Callable[[str, str], None]) -> None:
    install_plugin("exploding", exploding_source())
    listed = _listed()
    assert listed["exploding"]["error"] and "exploded" in listed["exploding"]["error"]

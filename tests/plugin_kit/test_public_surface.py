"""One import surface: a plugin author needs ``tillbridge``, ``tillbridge.emulation`` and
``tillbridge.testing`` (and, for commands, ``tillbridge.admin``, ``tillbridge.cli`` and
``tillbridge.oauth``), and nothing else — no private module, no built-in plugin. The built-in
plugins are held to the same rule."""

from __future__ import annotations

from pathlib import Path

import pytest

import tillbridge
import tillbridge.admin
import tillbridge.cli
import tillbridge.emulation
import tillbridge.oauth
import tillbridge.testing
from tillbridge import connector, entities, errors
from tillbridge.daemon import handlers
from tillbridge.testing import private_imports

ROOT = Path(__file__).resolve().parents[2]

#: What the plugin-author issue names, by module.
NEEDED = {
    "tillbridge": [
        "hookimpl", "Connector", "ConnectorContext", "CredentialField", "Page", "Outgoing", "PushResult",
        "Product", "Customer", "Location", "Sale", "SaleLine", "StockLevel", "Invoice", "Entity",
        "TillbridgeError", "AuthError", "RateLimited", "TransientError", "RecordRejected", "ConfigError",
        "JsonCursor", "version_cursor", "RateLimitHeaders", "check_response", "SettingSpec", "Flow",
        "SyncEvent", "WebhookHandler",
    ],
    "tillbridge.admin": ["Admin", "ConnectionInfo", "RunResult", "parse_date"],
    "tillbridge.cli": ["CliState", "TillbridgeGroup", "connection_option", "console", "pass_state", "print_results"],
    "tillbridge.emulation": ["Emulator", "BackgroundServer", "ScaledClock", "Send"],
    "tillbridge.oauth": ["authorize_in_browser"],
    "tillbridge.testing": [
        "ConnectorConformance", "ConnectionHarness", "SystemUnderTest", "temporary_app", "running_emulator",
        "start_emulated_system", "build_connector", "read_feed", "private_imports",
    ],
}
MODULES = {"tillbridge": tillbridge, "tillbridge.admin": tillbridge.admin, "tillbridge.cli": tillbridge.cli,
           "tillbridge.emulation": tillbridge.emulation, "tillbridge.oauth": tillbridge.oauth,
           "tillbridge.testing": tillbridge.testing}
#: Every built-in plugin, emulators included.
PLUGIN_DIRS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists())


@pytest.mark.parametrize("module", sorted(NEEDED))
def test_what_plugin_authors_need_is_public(module: str) -> None:
    public = set(MODULES[module].__all__)
    missing = [name for name in NEEDED[module] if name not in public]
    assert not missing, f"add to {module}.__all__: {missing}"
    for name in MODULES[module].__all__:
        assert getattr(MODULES[module], name) is not None, f"{module}.{name} does not resolve"


def test_every_name_of_the_contract_modules_is_reachable_from_tillbridge() -> None:
    """Entities, errors, the connector contract and the webhook contract are public in full."""
    for module in (entities, errors, connector, handlers):
        hidden = sorted(set(module.__all__) - set(tillbridge.__all__))
        assert not hidden, f"{module.__name__} exports {hidden}, which tillbridge does not re-export"


def test_all_is_sorted_constants_then_classes_then_functions() -> None:
    def group(name: str) -> tuple[int, str]:
        bare = name.strip("_")
        return (0 if bare.isupper() else 1 if bare[:1].isupper() else 2, name)

    for module in MODULES.values():
        assert list(module.__all__) == sorted(module.__all__, key=group), f"{module.__name__}.__all__ is not sorted"


def test_the_example_plugin_imports_only_public_modules() -> None:
    project = ROOT / "examples" / "tillbridge-csv"
    assert [str(v) for v in private_imports(project, own=["tillbridge_csv"])] == []


def test_the_public_modules_are_the_scanners_public_modules() -> None:
    assert set(tillbridge.testing.PUBLIC_MODULES) == set(MODULES)
    assert {"accounting", "lightspeed", "unleashed"} <= {p.name for p in PLUGIN_DIRS}


@pytest.mark.parametrize("plugin", PLUGIN_DIRS, ids=lambda p: p.name)
def test_the_builtin_plugins_import_only_public_modules(plugin: Path) -> None:
    """A built-in plugin uses nothing a third-party plugin could not: no private door."""
    found = [str(v) for v in private_imports(plugin, own=[f"tillbridge_{plugin.name}"])]
    assert found == [], "private imports (use tillbridge, tillbridge.admin, tillbridge.cli...):\n" + "\n".join(found)


def test_the_scanner_finds_each_kind_of_private_door(tmp_path: Path) -> None:
    (tmp_path / "plugin.py").write_text(
        "import tillbridge\n"
        "import tillbridge.runner\n"                      # a private module
        "from tillbridge import Connector, services\n"    # a public name and a private module
        "from tillbridge.app import App\n"                # a private module
        "from tillbridge.emulation import Emulator\n"     # public
        "from tillbridge.testing import temporary_app\n"  # public
        "import tillbridge_lightspeed.convert\n"          # another plugin
        "from tillbridge_mine import helpers\n"           # the project's own package
        "import httpx\n"                                  # a third-party library
        "store = tillbridge.storage\n"                    # a private attribute
        "version = tillbridge.__version__\n"
    )
    found = sorted((v.line, v.module, v.name or "") for v in private_imports(tmp_path, own=["tillbridge_mine"]))
    assert found == [(2, "tillbridge.runner", ""), (3, "tillbridge", "services"), (4, "tillbridge.app", ""),
                     (7, "tillbridge_lightspeed.convert", ""), (10, "tillbridge", "storage")]

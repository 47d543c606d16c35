"""The plugin is installed like any third-party plugin and uses tillbridge's public API only."""

from __future__ import annotations

from pathlib import Path

import tillbridge_csv
from tillbridge.testing import private_imports


def test_found_through_the_entry_point(tillbridge_app) -> None:  # type: ignore[no-untyped-def]
    info = {p.name: p for p in tillbridge_app.plugins.infos()}["csv"]
    assert info.source == "entry point" and info.error is None
    assert {"register_connectors", "register_commands"} <= set(info.hooks)
    assert "csv" in tillbridge_app.registries.connectors


def test_imports_only_public_tillbridge_modules() -> None:
    # The package wherever it is installed, and these tests.
    for root in (Path(tillbridge_csv.__file__).resolve().parent, Path(__file__).resolve().parent):
        assert [str(v) for v in private_imports(root, own=["tillbridge_csv"])] == []

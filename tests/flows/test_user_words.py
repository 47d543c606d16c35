"""What a retailer reads says what to do in plain words, never "see unleashed.md §8".

The log entries and command output of a whole demo run (refused records, held sales, parked
orders, notes) are scanned, and so is every message string in the code, since a run exercises
only the messages its story meets.
"""

from __future__ import annotations

import ast
import re
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from tillbridge.app import App
from tillbridge.cli.main import build_cli
from tillbridge.demo import DEMO_CONNECTION

from .shopkit import Shop

ROOT = Path(__file__).resolve().parents[2]
#: A section sign or a Markdown file name: references to our notes, meaningless to a retailer.
NOTE_REFERENCE = re.compile(r"§|\b[\w-]+\.md\b")


def test_the_log_and_output_of_a_demo_run_cite_no_notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    env = {"TILLBRIDGE_HOME": str(tmp_path), "TILLBRIDGE_SECRET_KEY": key}
    monkeypatch.setenv("TILLBRIDGE_HOME", str(tmp_path))
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    cli = build_cli()
    demo = CliRunner().invoke(cli, ["--database-url", url, "demo", "--products", "40"], env=env)
    assert demo.exit_code == 0, demo.output
    log = CliRunner().invoke(cli, ["--database-url", url, "log", "-c", DEMO_CONNECTION, "--level", "info",
                                   "--limit", "10000"], env=env)
    assert log.exit_code == 0, log.output

    app = App(url, secret_key=key.encode())
    try:
        entries = app.store.log_entries(app.store.connection(DEMO_CONNECTION).id or 0, limit=10_000)
    finally:
        app.close()
    said = [text for e in entries for text in (e.message, e.fix) if text]
    # The story meets refusals and warnings with their fixes, so the scan has something to read.
    assert any(e.level == "error" for e in entries) and any(e.fix for e in entries)
    cited = [text for text in [*said, demo.output, log.output] if NOTE_REFERENCE.search(text)]
    assert cited == []


def test_refusals_a_new_store_meets_say_what_to_do_without_citing_notes(shop: Shop) -> None:
    shop.settings(export_products=True, export_customers=True, export_stock=True)
    shop.ul.add_product("GIFT SET 3", "Gift set, three mugs", sell_price=Decimal("30.00"))  # spaces: refused
    shop.sell(3, [(shop.sellable()[0], 1)])  # the fourth outlet is not mapped: held
    shop.sync()
    shop.sync()
    entries = shop.log()
    assert {e.category for e in entries} >= {"failed", "held"}
    spaced = next(e for e in entries if e.record_key == "GIFT SET 3")
    assert "spaces" in spaced.message and "export_codes_with_spaces" in (spaced.fix or "")
    cited = [text for e in entries for text in (e.message, e.fix) if text and NOTE_REFERENCE.search(text)]
    assert cited == []


def _message_strings(path: Path) -> list[tuple[int, str]]:
    """String literals of a module that are not docstrings (comments are not strings at all)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_message_in_the_code_cites_our_notes() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}: {text[:80]!r}"
             for top in ("core", "plugins") for path in sorted((ROOT / top).rglob("*.py"))
             for line, text in _message_strings(path) if NOTE_REFERENCE.search(text)]
    assert found == []

"""The type checker runs as part of the suite: mypy over core/ and plugins/* with pyproject's config.

The packages live under core/ and plugins/* (setuptools package-dir), so mypy is pointed at a tree
of symlinks carrying the import names; mypy's cache sits beside it, so a re-run is incremental.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"tillbridge": "core", "tillbridge_lightspeed": "plugins/lightspeed",
            "tillbridge_unleashed": "plugins/unleashed", "tillbridge_accounting": "plugins/accounting"}


def _tree(base: Path) -> Path:
    tree = base / "src"
    tree.mkdir(parents=True, exist_ok=True)
    for name, directory in PACKAGES.items():
        link = tree / name
        if link.is_symlink() and link.resolve() != (ROOT / directory).resolve():
            link.unlink()
        if not link.is_symlink():
            link.symlink_to(ROOT / directory, target_is_directory=True)
    return tree


def test_mypy_finds_no_errors(tmp_path_factory: pytest.TempPathFactory,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Kept between sessions (incremental) and per checkout (worktrees do not relink each other's).
    checkout = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]
    base = tmp_path_factory.getbasetemp().parent / f"tillbridge-mypy-{checkout}"
    tree = _tree(base)
    monkeypatch.chdir(tree)  # mypy resolves `packages` from the working directory
    stdout, stderr, status = api.run([
        "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(base / "cache"),
        "--python-executable", sys.executable, "--no-color-output", "--no-error-summary"])
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert status == 0 and not errors, f"mypy: {len(errors)} errors\n{stdout}{stderr}"

"""Which imports of a plugin reach past tillbridge's public surface.

Public: the names in ``tillbridge.__all__``, and the modules of :data:`PUBLIC_MODULES`
(``tillbridge.emulation``, ``tillbridge.testing``; for commands ``tillbridge.admin``,
``tillbridge.cli`` and ``tillbridge.oauth``) with the names in their ``__all__``. Everything else under
``tillbridge.`` is private, and so is every other plugin (``tillbridge_*`` packages): a plugin
built on them breaks when they change. Plugin authors can run this over their own package::

    assert private_imports(Path(tillbridge_acme.__file__).parent) == []
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

PUBLIC_MODULES: tuple[str, ...] = ("tillbridge", "tillbridge.admin", "tillbridge.cli", "tillbridge.emulation",
                                   "tillbridge.oauth", "tillbridge.testing")


@dataclass(frozen=True)
class ImportViolation:
    path: str
    line: int
    module: str
    name: str | None = None

    def __str__(self) -> str:
        what = f"{self.module}.{self.name}" if self.name else self.module
        return f"{self.path}:{self.line}: {what} is not public"


def _public_names(module: str) -> set[str]:
    return set(getattr(importlib.import_module(module), "__all__", ()))


def private_imports(root: Path, *, own: Iterable[str] = ()) -> list[ImportViolation]:
    """Every import (and ``tillbridge.<name>`` attribute use) in ``root``'s ``.py`` files that
    is not public.

    :param root: a package directory, a project directory, or one file.
    :param own: top-level packages of the project itself (allowed among ``tillbridge_*``).
    """
    public = {m: _public_names(m) for m in PUBLIC_MODULES}
    allowed_plugins = set(own)
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))
    found: list[ImportViolation] = []
    for path in files:
        if any(part in {".venv", "venv", "build", ".git"} for part in path.parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            found.extend(_check(node, str(path), public, allowed_plugins))
    return found


def _check(node: ast.AST, path: str, public: dict[str, set[str]], own: set[str]) -> list[ImportViolation]:
    out: list[ImportViolation] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if not _module_ok(alias.name, public, own):
                out.append(ImportViolation(path, node.lineno, alias.name))
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        module = node.module
        if not _module_ok(module, public, own):
            out.append(ImportViolation(path, node.lineno, module))
        elif module in public:
            for alias in node.names:
                if alias.name != "*" and alias.name not in public[module] and f"{module}.{alias.name}" not in public:
                    out.append(ImportViolation(path, node.lineno, module, alias.name))
    elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "tillbridge":
        name = node.attr
        if name not in public["tillbridge"] and f"tillbridge.{name}" not in public and not name.startswith("__"):
            out.append(ImportViolation(path, node.lineno, "tillbridge", name))
    return out


def _module_ok(module: str, public: dict[str, set[str]], own: set[str]) -> bool:
    top = module.split(".")[0]
    if top == "tillbridge":
        return module in public
    if top.startswith("tillbridge_"):
        return top in own
    return True


__all__ = ["PUBLIC_MODULES", "ImportViolation", "private_imports"]

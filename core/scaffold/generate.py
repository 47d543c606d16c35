"""``tillbridge plugin new NAME``: a working plugin project from the template next to this file.

The template is plain text with a handful of ``{{token}}`` placeholders (no template engine: the
files are Python and TOML whose own braces must stay untouched). Files end in ``.tmpl`` so that
no tool takes them for part of tillbridge; ``__package__`` in a path becomes the package name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

TEMPLATE = Path(__file__).parent / "template"
NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
#: Files whose real name starts with a dot are stored without it (package data skips dotfiles).
DOTFILES = {"gitignore": ".gitignore"}


@dataclass(frozen=True)
class PluginNames:
    """Every spelling of a plugin's name the project needs, derived from ``NAME``."""

    name: str  # system, entry-point and emulator name: "my_shop"
    package: str  # import package: "tillbridge_my_shop"
    dist: str  # distribution: "tillbridge-my-shop"
    class_prefix: str  # "MyShop" -> MyShopConnector, MyShopEmulator
    title: str  # "My Shop"

    @classmethod
    def from_name(cls, raw: str, title: str | None = None) -> "PluginNames":
        text = raw.strip().lower()
        if not NAME.match(text):
            raise ConfigError(f"{raw!r} cannot name a plugin",
                              fix="use lowercase letters and digits, words joined by '-' or '_' (e.g. acme, my-shop)")
        words = re.split(r"[-_]", text)
        system = "_".join(words)
        return cls(name=system, package=f"tillbridge_{system}", dist="tillbridge-" + "-".join(words),
                   class_prefix="".join(w.capitalize() for w in words),
                   title=title or " ".join(w.capitalize() for w in words))

    def tokens(self, tillbridge_version: str) -> dict[str, str]:
        return {"{{name}}": self.name, "{{package}}": self.package, "{{dist}}": self.dist,
                "{{Class}}": self.class_prefix, "{{title}}": self.title,
                "{{tillbridge_version}}": tillbridge_version}


def render(names: PluginNames, destination: Path, *, tillbridge_version: str) -> list[Path]:
    """Write the project into ``destination`` (which must not exist or be empty)."""
    if destination.exists() and any(destination.iterdir()):
        raise ConfigError(f"{destination} already exists and is not empty",
                          fix="choose another NAME or --directory")
    tokens = names.tokens(tillbridge_version)
    written = []
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE).with_suffix("")  # drop .tmpl
        parts = [names.package if p == "__package__" else DOTFILES.get(p, p) for p in relative.parts]
        target = destination.joinpath(*parts)
        text = source.read_text(encoding="utf-8")
        for token, value in tokens.items():
            text = text.replace(token, value)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def new_plugin(name: str, directory: Path | None = None, *, title: str | None = None) -> tuple[PluginNames, Path]:
    """Generate the project for plugin ``name`` in ``directory`` (default ``./NAME``)."""
    from .. import __version__

    names = PluginNames.from_name(name, title)
    destination = directory if directory is not None else Path.cwd() / name
    render(names, destination, tillbridge_version=__version__)
    return names, destination


__all__ = ["TEMPLATE", "PluginNames", "new_plugin", "render"]

"""``tillbridge plugin ...``: tools for plugin authors (``plugin new NAME`` generates a project)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from ..plugins import Plugins
from ..scaffold import new_plugin
from ..scaffold.generate import PluginNames
from .base import TillbridgeGroup, console


@click.group("plugin", cls=TillbridgeGroup)
def plugin_group() -> None:
    """Write your own connector plugin: generate, then test with the conformance suite."""


@plugin_group.command("new")
@click.argument("name")
@click.option("--directory", "-d", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to create the project (default: ./NAME).")
@click.option("--title", default=None, help="Human name of the system (default: from NAME).")
def plugin_new(name: str, directory: Path | None, title: str | None) -> None:
    """Generate a plugin project: connector, emulator, conformance test, entry point."""
    wanted = PluginNames.from_name(name, title)
    installed = Plugins().registries.connectors
    if wanted.name in installed:
        raise ConfigError(f"a connector named {wanted.name!r} is already installed",
                          fix="choose another NAME (`tillbridge plugins` lists what is installed)")
    names, destination = new_plugin(name, directory, title=title)
    shown = _shown(destination)
    console.print(f"Created [bold]{names.dist}[/] in {shown}: connector {names.class_prefix}Connector, "
                  f"emulator {names.class_prefix}Emulator, conformance test.")
    console.print("Next:")
    console.print(f"  pip install -e {shown}")
    console.print(f"  cd {shown} && pytest")
    console.print(f"  tillbridge plugins        # lists {names.name!r} with its hooks")


def _shown(path: Path) -> str:
    """``./acme`` when under the current directory (what the user would type), else absolute."""
    try:
        return "./" + path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)

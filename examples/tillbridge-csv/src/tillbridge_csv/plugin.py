"""The hook implementations tillbridge finds through the ``csv`` entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import click

from tillbridge import Connector, Flow, SettingSpec, hookimpl


@hookimpl
def register_connectors(register: Callable[[type[Connector]], None]) -> None:
    from .connector import CsvFolderConnector

    register(CsvFolderConnector)


@hookimpl
def register_flows(register: Callable[[Flow], None]) -> None:
    from .flows import STOCK_FLOW

    register(STOCK_FLOW)


@hookimpl
def register_settings(register: Callable[[SettingSpec], None]) -> None:
    from .flows import STOCK_SETTING

    register(STOCK_SETTING)


@hookimpl
def register_commands(cli: click.Group) -> None:
    from .commands import register

    connect = cli.commands.get("connect")  # the core's `tillbridge connect` group
    if isinstance(connect, click.Group):
        register(connect)

    @cli.group("csv")
    def csv_group() -> None:
        """The CSV/JSON drop-folder point of sale (plugin tillbridge-csv)."""

    @csv_group.command("sample")
    @click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
    def sample(folder: Path) -> None:
        """Write a small sample drop folder to FOLDER (outlets, products, customers, sales)."""
        from .sample import write_sample

        path = write_sample(folder).resolve()  # the connection keeps the path: make it absolute
        click.echo(f"Wrote a sample drop folder to {path}. Next: "
                   f"`tillbridge connect csv {path} -c shop`.")

"""``tillbridge connect csv FOLDER``: the drop folder becomes the connection's point of sale.

Built only on the public command toolkit (``tillbridge.cli``) and the administration API
(``tillbridge.admin``), as a built-in connector's ``connect`` command is: the folder is checked
first (the connector's own ``check``, nothing saved when it fails), then saved as the URL of the
connection's POS, with the settings a drop folder needs (and the plugin's, if given).
"""

from __future__ import annotations

from pathlib import Path

import click

from tillbridge.cli import CliState, console, pass_state

from .flows import STOCK_SWITCH


def register(connect: click.Group) -> None:
    @connect.command("csv")
    @click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--connection", "-c", "connection_name", default="main", show_default=True)
    @click.option("--stock-file/--no-stock-file", default=None,
                  help="Write the inventory's stock levels into stock.csv after each sync (flow csv_stock).")
    @pass_state
    def connect_csv(state: CliState, folder: Path, connection_name: str, stock_file: bool | None) -> None:
        """Use the drop folder FOLDER as the point of sale of a connection."""
        admin = state.admin
        path = str(folder.expanduser().resolve())  # the connection keeps the path: make it absolute
        # The connector's check reads the folder: a missing folder or a broken table is refused here.
        description = admin.check_credentials(connection_name, "csv", path, {})
        admin.ensure_system(connection_name, "pos", "csv", path)
        # A drop folder holds no stock on hand, so the core's opening-stock import (on by default)
        # has nothing to read from it: turned off, a sync pass does not fail on it.
        settings: dict[str, object] = {"import_opening_stock": False}
        if stock_file is not None:
            settings[STOCK_SWITCH] = stock_file
        admin.set_settings(connection_name, settings)
        console.print(f"Connected: {description}.", soft_wrap=True)
        current = admin.connection(connection_name)
        if not current.has_role("inventory"):
            console.print(f"Next: connect an inventory system, e.g. `tillbridge connect unleashed -c {connection_name}`.",
                          soft_wrap=True)

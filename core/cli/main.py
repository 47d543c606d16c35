"""``tillbridge``: the command line. Plugins add commands through ``register_commands``."""

from __future__ import annotations

import logging
import sys

import click

from ..errors import TillbridgeError
from ..plugins import Plugins
from .base import CliState, TillbridgeGroup, UserError
from .commands_admin import connections, plugins_command, settings
from .commands_daemon import run_command, webhooks_group
from .commands_data import export_group, import_group, log_command, reimport_command, sync_command
from .commands_demo import demo_command, sandbox
from .commands_reconcile import reconcile_command
from .commands_locations import map_command, mappings_command, outlets, unmap_command, warehouses_command
from .commands_web import web_command
from .commands_plugin import plugin_group


@click.group(cls=TillbridgeGroup)
@click.option("--database-url", envvar="TILLBRIDGE_DATABASE_URL", default=None, metavar="URL",
              help="Database (default: a SQLite file in your data directory).")
@click.option("--create-database", is_flag=True, envvar="TILLBRIDGE_CREATE_DATABASE",
              help="Create the SQLite file given by --database-url if it does not exist "
                   "(the default one is always created).")
@click.option("-v", "--verbose", is_flag=True, help="Log HTTP calls (secrets redacted).")
@click.version_option(package_name="tillbridge")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, create_database: bool, verbose: bool) -> None:
    """Keep Lightspeed Retail, Unleashed and your accounting provider in step."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state = CliState(database_url, create_database)
    ctx.obj = state
    ctx.call_on_close(state.close)


@cli.group(cls=TillbridgeGroup)
def connect() -> None:
    """Connect an account (each installed connector adds its own subcommand)."""


for command in (plugins_command, connections, settings, sync_command, import_group, export_group,
                reimport_command, log_command, outlets, warehouses_command, map_command, unmap_command,
                mappings_command, demo_command, sandbox, plugin_group, web_command, run_command, webhooks_group,
                reconcile_command):
    cli.add_command(command)


def build_cli() -> click.Group:
    """The CLI with every plugin's commands added."""
    try:
        Plugins().register_commands(cli)
    except TillbridgeError as exc:  # pragma: no cover - only a broken install gets here
        raise UserError(exc) from None
    return cli


def main() -> None:
    group = build_cli()
    try:
        group.main(prog_name="tillbridge")
    except KeyboardInterrupt:
        sys.exit(130)

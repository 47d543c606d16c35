"""Shared CLI plumbing: the root group, the lazily opened app, user-error rendering."""

from __future__ import annotations

import os
from typing import Any

import click
import httpx
from rich.console import Console

from ..app import App
from ..errors import ConfigError, TillbridgeError
from ..storage.models import Connection

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class UserError(click.ClickException):
    """A TillbridgeError shown as a message (what is wrong, then what to do), never a traceback."""

    exit_code = 2

    def __init__(self, error: TillbridgeError) -> None:
        super().__init__(error.message)
        self.error = error

    def show(self, file: Any = None) -> None:
        err_console.print(f"[bold red]Error:[/] {self.error.message}")
        if self.error.fix:
            err_console.print(f"  [yellow]→[/] {self.error.fix}")


class TillbridgeGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TillbridgeError as exc:
            raise UserError(exc) from None
        except httpx.TransportError as exc:
            raise UserError(TillbridgeError(f"network error: {type(exc).__name__}: {exc}",
                                            fix="check the service's base URL and that it is running")) from None


class CliState:
    def __init__(self, database_url: str | None) -> None:
        self.database_url = database_url
        self._app: App | None = None

    @property
    def app(self) -> App:
        if self._app is None:
            self._app = App(self.database_url)
        return self._app

    def connection(self, name: str | None) -> Connection:
        name = name or os.environ.get("TILLBRIDGE_CONNECTION")
        if name:
            return self.app.store.connection(name)
        connections = self.app.store.connections()
        if len(connections) == 1:
            return connections[0]
        if not connections:
            raise ConfigError("there is no connection yet",
                              fix="create one with `tillbridge connections add NAME` (or try `tillbridge demo`)")
        raise ConfigError("there are several connections: say which",
                          fix="--connection NAME (one of: " + ", ".join(c.name for c in connections) + ")")

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


pass_state = click.make_pass_decorator(CliState)

connection_option = click.option(
    "--connection", "-c", "connection_name", default=None, metavar="NAME",
    help="Connection to act on (default: the only one, or $TILLBRIDGE_CONNECTION).",
)

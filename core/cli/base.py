"""Shared CLI plumbing: the root group, the lazily opened app, user-error rendering."""

from __future__ import annotations

import os
from typing import Any

import click
import httpx
from rich.console import Console
from sqlalchemy.exc import DBAPIError

from ..admin import Admin
from ..app import App
from ..errors import ConfigError, TillbridgeError
from ..storage.db import check_database_file, database_url, explain
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
        # soft_wrap: a path or a command in the message stays on one line, so it can be pasted
        err_console.print(f"[bold red]Error:[/] {self.error.message}", soft_wrap=True)
        if self.error.fix:
            err_console.print(f"  [yellow]→[/] {self.error.fix}", soft_wrap=True)


class Interrupted(click.ClickException):
    """Ctrl-C (SIGINT): a short message and exit 130, the shell's code for it, not a traceback."""

    exit_code = 130

    def __init__(self) -> None:
        super().__init__("interrupted")

    def show(self, file: Any = None) -> None:
        err_console.print("\n[bold yellow]Interrupted.[/] What was done before is saved; the step in "
                          "progress was not. Run the same command again to go on (nothing is duplicated).")


class TillbridgeGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TillbridgeError as exc:
            raise UserError(exc) from None
        except httpx.TransportError as exc:
            raise UserError(TillbridgeError(f"network error: {type(exc).__name__}: {exc}",
                                            fix="check the service's base URL and that it is running")) from None
        except KeyboardInterrupt:
            raise Interrupted() from None
        except (DBAPIError, OSError) as exc:
            # A command's reads and writes fail the same way opening does (disk full, read-only,
            # damaged file): one translator says which file and what to do.
            state = ctx.find_object(CliState)
            known = explain(exc, database_url(state.database_url if state else None))
            if known is None:
                raise
            raise UserError(known) from None


class CliState:
    """What the root options chose, and the app opened on first use.

    Only the default database (in the data directory) is created without asking: a path given
    with ``--database-url`` / ``TILLBRIDGE_DATABASE_URL`` that does not exist is refused (a typo
    would otherwise look like an empty tillbridge) unless ``create_database`` (``--create-database``
    or ``TILLBRIDGE_CREATE_DATABASE=1``).
    """

    def __init__(self, database_url: str | None, create_database: bool | None = None) -> None:
        self.database_url = database_url
        if create_database is None:
            create_database = os.environ.get("TILLBRIDGE_CREATE_DATABASE", "").lower() in {"1", "true", "yes", "on"}
        self.create_database = create_database or not database_url
        self._app: App | None = None
        self._owned = True

    @classmethod
    def for_app(cls, app: App) -> "CliState":
        """The state of a command run against an app already open (a plugin's test invokes its
        command with click's ``CliRunner``: ``runner.invoke(group, args, obj=CliState.for_app(app))``).
        The app stays the caller's: :meth:`close` leaves it open."""
        state = cls(app.database_url)
        state._app, state._owned = app, False
        return state

    @property
    def app(self) -> App:
        if self._app is None:
            self._app = App(self.database_url, create_database=self.create_database)
        return self._app

    @property
    def admin(self) -> Admin:
        """The administration API of the app (what plugin commands use; opens the app)."""
        return Admin(self.app)

    def connection_name(self, name: str | None) -> str:
        """The name of the connection to act on: ``name``, ``$TILLBRIDGE_CONNECTION`` or the only one."""
        return self.connection(name).name

    def check_database(self) -> None:
        """Refuse a missing, folder or non-SQLite database file now, for a command that opens the
        database in another object (the daemon)."""
        check_database_file(database_url(self.database_url), create=self.create_database)

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
        if self._app is not None and self._owned:
            self._app.close()


pass_state = click.make_pass_decorator(CliState)

connection_option = click.option(
    "--connection", "-c", "connection_name", default=None, metavar="NAME",
    help="Connection to act on (default: the only one, or $TILLBRIDGE_CONNECTION).",
)

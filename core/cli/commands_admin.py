"""``tillbridge plugins``, ``connections``, ``settings``."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from ..crypto import redact
from ..errors import CredentialsUnreadable
from ..plugins import Plugins
from .. import services
from .base import CliState, TillbridgeGroup, connection_option, console, pass_state


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_command(as_json: bool) -> None:
    """List installed plugins, their versions and the hooks each implements."""
    plugins = Plugins()
    _ = plugins.registries  # run the registration hooks, so a plugin failing inside them shows as broken
    infos = plugins.infos()
    if as_json:
        import json

        click.echo(json.dumps([info.__dict__ for info in infos], indent=2))
        return
    table = Table(title="tillbridge plugins")
    for col in ("name", "version", "hooks", "status"):
        table.add_column(col)
    for info in infos:
        status = f"[red]broken: {info.error}[/]" if info.error else "ok"
        table.add_row(info.name, info.version or "-", ", ".join(info.hooks) or "-", status)
    console.print(table)


@click.group(cls=TillbridgeGroup)
def connections() -> None:
    """Create and inspect connections (one store + one inventory account + optional accounting)."""


@connections.command("add")
@click.argument("name")
@click.option("--pos", default="lightspeed", show_default=True, help="Point-of-sale system.")
@click.option("--pos-url", default=None, help="POS API base URL (default: the connector's).")
@click.option("--inventory", default="unleashed", show_default=True, help="Inventory system.")
@click.option("--inventory-url", default=None, help="Inventory API base URL.")
@pass_state
def connections_add(state: CliState, name: str, pos: str, pos_url: str | None, inventory: str,
                    inventory_url: str | None) -> None:
    """Create connection NAME."""
    conn = services.add_connection(state.app, name, {"pos": (pos, pos_url), "inventory": (inventory, inventory_url)})
    console.print(f"Created connection [bold]{conn.name}[/]. Next: `tillbridge connect {pos} -c {name}` "
                  f"and `tillbridge connect {inventory} -c {name}`.")


@connections.command("list")
@pass_state
def connections_list(state: CliState) -> None:
    """List connections."""
    table = Table()
    for col in ("name", "pos", "inventory", "accounting", "created"):
        table.add_column(col)
    for conn in state.app.store.connections():
        systems = state.app.store.systems(conn.id or 0)
        table.add_row(conn.name, *(systems[r].system if r in systems else "-" for r in ("pos", "inventory", "accounting")),
                      conn.created_at.strftime("%Y-%m-%d %H:%M"))
    console.print(table)


@connections.command("show")
@connection_option
@pass_state
def connections_show(state: CliState, connection_name: str | None) -> None:
    """Show a connection: systems, credentials (secrets masked), mappings, last runs."""
    conn = state.connection(connection_name)
    app = state.app
    console.print(f"[bold]{conn.name}[/]")
    for role, ref in sorted(app.store.systems(conn.id or 0).items()):
        cls = app.connector_class(ref.system)
        secrets = {f.name for f in cls.credential_fields if f.secret} | {"access_token", "refresh_token"}
        try:
            creds = redact(app.store.credentials(conn.id or 0, ref.system), secrets)
        except CredentialsUnreadable as exc:  # the rest of the connection is still shown
            console.print(f"  {role:<11} {ref.system:<11} {ref.base_url}\n              credentials: "
                          f"[red]unreadable[/]: {escape(exc.message)}\n              [yellow]→[/] {escape(exc.fix or '')}")
            continue
        shown = ", ".join(f"{k}={v}" for k, v in sorted(creds.items()) if not k.startswith("_")) or "not connected"
        console.print(f"  {role:<11} {ref.system:<11} {ref.base_url}\n              credentials: {shown}")
    mapping = services.mappings(app, conn.name)
    console.print(f"  mappings: {len(mapping)}")
    for flow, run in sorted(app.store.last_runs(conn.id or 0).items()):
        when = run.finished_at.strftime("%Y-%m-%d %H:%M:%S") if run.finished_at else "running"
        console.print(f"  last {flow:<17} {run.status:<9} {when}  written {run.created + run.updated}, "
                      f"failed {run.failed}, held {run.held}")


@click.group(cls=TillbridgeGroup)
def settings() -> None:
    """Show or change a connection's switches."""


@settings.command("show")
@connection_option
@pass_state
def settings_show(state: CliState, connection_name: str | None) -> None:
    """Every setting with its value and help."""
    conn = state.connection(connection_name)
    values = state.app.settings(conn)
    table = Table(title=f"settings of {conn.name}")
    for col in ("setting", "value", "help"):
        table.add_column(col)
    for spec in state.app.registries.settings:
        table.add_row(spec.name, escape(spec.render(values.get(spec.name))), escape(spec.help))
    console.print(table)


@settings.command("set")
@click.argument("pairs", nargs=-1, required=True, metavar="NAME VALUE [NAME VALUE]...")
@connection_option
@pass_state
def settings_set(state: CliState, pairs: tuple[str, ...], connection_name: str | None) -> None:
    """Set one or more settings, e.g. `settings set export_stock on include_assembled on`."""
    if len(pairs) % 2:
        raise click.UsageError("give NAME VALUE pairs, e.g. `tillbridge settings set export_stock on`")
    conn = state.connection(connection_name)
    raw = dict(zip(pairs[::2], pairs[1::2]))
    change = services.set_settings(state.app, conn.name, raw)
    registry = state.app.registries.settings
    for name in raw:
        console.print(f"{name} = {registry.spec(name).render(change.values[name])}", markup=False)
    for note in change.notes:
        console.print(f"[yellow]note:[/] {note}")

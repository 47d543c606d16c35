"""Outlets, warehouses and the one-to-one map between them."""

from __future__ import annotations

import click
from rich.table import Table

from .. import services
from .base import CliState, TillbridgeGroup, connection_option, console, pass_state


@click.group(cls=TillbridgeGroup)
def outlets() -> None:
    """POS outlets."""


@outlets.command("reload")
@connection_option
@pass_state
def outlets_reload(state: CliState, connection_name: str | None) -> None:
    """Fetch outlets and warehouses again ("Reload outlets")."""
    conn = state.connection(connection_name)
    counts = services.reload_locations(state.app, conn.name)
    console.print(f"{counts.outlets} outlets, {counts.warehouses} warehouses")
    _print_locations(state, conn.id or 0, "outlet")


@outlets.command("list")
@connection_option
@pass_state
def outlets_list(state: CliState, connection_name: str | None) -> None:
    """Outlets as last loaded, with their mapped warehouse."""
    conn = state.connection(connection_name)
    _print_locations(state, conn.id or 0, "outlet")


def _print_locations(state: CliState, connection_id: int, kind: str) -> None:
    known = state.app.store.known_locations(connection_id, kind)
    mapping = state.app.store.location_map(connection_id)
    names = {loc.location_id: loc.name for loc in state.app.store.known_locations(connection_id)}
    partner = mapping if kind == "outlet" else {w: o for o, w in mapping.items()}
    table = Table(title=f"{len(known)} {kind}s")
    for col in ("name", "code", "id", "mapped to"):
        table.add_column(col)
    for loc in known:
        other = partner.get(loc.location_id)
        table.add_row(loc.name, loc.code or "-", loc.location_id, names.get(other, other or "-") if other else "-")
    console.print(table)


@click.command("warehouses")
@click.option("--reload", "do_reload", is_flag=True, help="Fetch them again first.")
@connection_option
@pass_state
def warehouses_command(state: CliState, do_reload: bool, connection_name: str | None) -> None:
    """Inventory warehouses and their count."""
    conn = state.connection(connection_name)
    if do_reload or not state.app.store.known_locations(conn.id or 0, "warehouse"):
        services.reload_locations(state.app, conn.name)
    _print_locations(state, conn.id or 0, "warehouse")


@click.command("map")
@click.argument("outlet")
@click.argument("warehouse")
@connection_option
@pass_state
def map_command(state: CliState, outlet: str, warehouse: str, connection_name: str | None) -> None:
    """Map OUTLET to WAREHOUSE (by name, code or id). One outlet per warehouse."""
    conn = state.connection(connection_name)
    o, w = services.map_outlet(state.app, conn.name, outlet, warehouse)
    console.print(f"Mapped outlet [bold]{o.name}[/] → warehouse [bold]{w.name}[/]")


@click.command("unmap")
@click.argument("outlet")
@connection_option
@pass_state
def unmap_command(state: CliState, outlet: str, connection_name: str | None) -> None:
    """Remove OUTLET's mapping."""
    conn = state.connection(connection_name)
    o = services.unmap_outlet(state.app, conn.name, outlet)
    console.print(f"Unmapped outlet [bold]{o.name}[/]")


@click.command("mappings")
@connection_option
@pass_state
def mappings_command(state: CliState, connection_name: str | None) -> None:
    """Outlet → warehouse mappings."""
    conn = state.connection(connection_name)
    table = Table(title="outlet → warehouse")
    table.add_column("outlet")
    table.add_column("warehouse")
    for o, w, oid, wid in services.mappings(state.app, conn.name):
        table.add_row(o.name if o else oid, w.name if w else wid)
    console.print(table)

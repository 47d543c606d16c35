"""``sync``, ``import``, ``export``, ``reimport``, ``log``: moving data and reading what happened."""

from __future__ import annotations

from typing import Sequence

import click
from rich.markup import escape
from rich.table import Table

from .. import services
from ..entities import ENTITY_TYPES
from ..runner import RunResult
from .base import CliState, TillbridgeGroup, connection_option, console, pass_state

LEVELS = {"error": ["error"], "warning": ["error", "warning"], "info": ["error", "warning", "info"], "all": None}


def print_results(results: Sequence[RunResult], state: CliState | None = None, connection: str | None = None) -> None:
    table = Table(title="sync")
    for col in ("flow", "status", "fetched", "created", "updated", "unchanged", "skipped", "held", "failed"):
        table.add_column(col, justify="right" if col not in {"flow", "status"} else "left")
    for r in results:
        colour = {"ok": "green", "deferred": "yellow"}.get(r.status, "red")
        table.add_row(r.flow, f"[{colour}]{r.status}[/]", *(str(getattr(r, c)) for c in
                      ("fetched", "created", "updated", "unchanged", "skipped", "held", "failed")))
    console.print(table)
    if state is not None and connection is not None:
        for r in results:
            console.print(services.describe(state.app, connection, r), markup=False)
    else:
        for r in results:
            if r.error:
                console.print(f"[red]{r.flow}:[/] {r.error}")
    if any(r.failed or r.held for r in results):
        console.print("Some records did not sync: `tillbridge log --open` says why and what to do; "
                      "`tillbridge reimport` retries them once fixed.")


@click.command("sync")
@click.option("--once", is_flag=True, help="Run every enabled flow once and exit (the daemon is `tillbridge run`).")
@click.option("--flow", "flows", multiple=True, help="Only these flows (repeatable).")
@connection_option
@pass_state
def sync_command(state: CliState, once: bool, flows: tuple[str, ...], connection_name: str | None) -> None:
    """Synchronise a connection now."""
    if not once:
        raise click.UsageError("use `tillbridge sync --once`, or `tillbridge run` for the scheduled daemon")
    conn = state.connection(connection_name)
    unknown = [f for f in flows if f not in state.app.flows()]
    if unknown:
        raise click.BadParameter(f"unknown flow {', '.join(unknown)}; flows: {', '.join(state.app.flows())}")
    results = services.sync_once(state.app, conn.name, only=flows or None)
    print_results(results, state, conn.name)
    if any(r.status == "failed" for r in results):
        raise SystemExit(1)


@click.group("import", cls=TillbridgeGroup)
def import_group() -> None:
    """Re-sync products, customers or sales from a past date."""


def _import(entity: str) -> click.Command:
    @click.command(entity + "s" if entity != "sale" else "sales")
    @click.option("--since", required=True, metavar="DATE", help="YYYY-MM-DD (UTC) or an ISO timestamp.")
    @connection_option
    @pass_state
    def command(state: CliState, since: str, connection_name: str | None) -> None:
        when = services.parse_date(since)
        conn = state.connection(connection_name)
        result = services.import_since(state.app, conn.name, entity, when)
        print_results([result], state, conn.name)
        if result.status == "failed":
            raise SystemExit(1)

    command.__doc__ = f"Import {entity}s changed since DATE (idempotent: nothing is duplicated)."
    return command


for _entity in ("product", "customer", "sale"):
    import_group.add_command(_import(_entity))


@click.group("export", cls=TillbridgeGroup)
def export_group() -> None:
    """Push inventory data to the POS on demand."""


@export_group.command("products")
@connection_option
@pass_state
def export_products(state: CliState, connection_name: str | None) -> None:
    """Export inventory products to the POS now (codes with spaces are refused and logged)."""
    conn = state.connection(connection_name)
    result = services.export_products(state.app, conn.name)
    print_results([result], state, conn.name)
    if result.status == "failed":
        raise SystemExit(1)


@click.command("reimport")
@click.option("--entity", default=None, type=click.Choice(["product", "customer", "sale", "stock", "invoice"]))
@click.option("--since", default=None, metavar="DATE")
@click.option("--record", default=None, metavar="KEY", help="One record, by its key or source id.")
@connection_option
@pass_state
def reimport_command(state: CliState, entity: str | None, since: str | None, record: str | None,
                     connection_name: str | None) -> None:
    """Retry failed and held records, reading each one anew from its source."""
    when = services.parse_date(since) if since else None
    conn = state.connection(connection_name)
    results = services.reimport(state.app, conn.name, entity=entity, since=when, record=record)
    if not results:
        console.print("Nothing to re-import: no open failures.")
        return
    print_results(results, state, conn.name)


@click.group("log", cls=TillbridgeGroup, invoke_without_command=True)
@click.option("--level", type=click.Choice(list(LEVELS)), default="info", show_default=True,
              help="error: failures only; info: everything but debug detail; all: everything.")
@click.option("--entity", default=None, type=click.Choice(sorted(ENTITY_TYPES)), help="Only this record type.")
@click.option("--since", default=None, metavar="DATE", help="Only entries since DATE (YYYY-MM-DD, UTC).")
@click.option("--open", "open_only", is_flag=True, help="Only unresolved failures.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@connection_option
@click.pass_context
def log_command(ctx: click.Context, level: str, entity: str | None, since: str | None, open_only: bool,
                limit: int, connection_name: str | None) -> None:
    """The connection log: record, direction, reason and what to do (`log prune` applies retention)."""
    if ctx.invoked_subcommand:
        return
    state = ctx.find_object(CliState)
    assert state is not None
    when = services.parse_date(since) if since else None
    conn = state.connection(connection_name)
    entries = state.app.store.log_entries(conn.id or 0, levels=LEVELS[level], entity_type=entity,
                                          since=when, open_only=open_only, limit=limit)
    if not entries:
        console.print("The log is empty for that filter.")
        return
    for e in entries:
        colour = {"error": "red", "warning": "yellow"}.get(e.level, "cyan")
        state_text = " [green](resolved)[/]" if e.resolved_at else ""
        where = " ".join(escape(x) for x in (e.flow, e.direction) if x)
        if e.record_key:
            where += f" [bold]{escape(e.record_key)}[/]"
        console.print(f"{e.created_at:%Y-%m-%d %H:%M:%S} [{colour}]{e.level.upper():7}[/] {where}{state_text}")
        console.print(f"    {e.message}" + (f" (x{e.attempts})" if e.attempts > 1 else ""), markup=False)
        if e.fix:
            console.print(f"    → {e.fix}", markup=False)


@log_command.command("prune")
@click.option("--days", default=None, type=click.IntRange(min=1),
              help="Keep this many days (default: the log_retention_days setting).")
@connection_option
@pass_state
def log_prune(state: CliState, days: int | None, connection_name: str | None) -> None:
    """Delete entries older than the retention (open failures are kept until resolved)."""
    conn = state.connection(connection_name)
    removed = services.prune_log(state.app, conn.name, days=days)
    console.print(f"Removed {removed} log entries older than "
                  f"{days or state.app.settings(conn).get('log_retention_days')} days.")

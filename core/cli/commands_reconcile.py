"""``tillbridge reconcile``: do the POS, the inventory system and the accounting provider agree on a day?"""

from __future__ import annotations

import json
import shlex
from datetime import date, datetime, timedelta

import click
from rich.markup import escape
from rich.table import Table

from ..reconcile import DayReport, Side, parse_day, reconcile, trading_zone, zone_of
from .base import CliState, connection_option, console, pass_state

EXIT_AGREE, EXIT_DIFFERENCES = 0, 1


def pick_day(state: CliState, name: str, text: str | None) -> date:
    """``YYYY-MM-DD``, ``today`` or ``yesterday`` (the default), in the retailer's time zone."""
    if text and text.strip().lower() not in {"today", "yesterday"}:
        return parse_day(text)
    app = state.app
    zone, _ = trading_zone(app.runtime(name), app.settings(app.store.connection(name)))
    today = datetime.now(zone_of(zone)).date()
    return today if text and text.strip().lower() == "today" else today - timedelta(days=1)


def _side(side: Side | None, with_status: bool = False) -> str:
    if side is None:
        return "[dim]off[/]"
    text = f"{side.count} · {side.total}"
    if with_status and side.count:
        text += f"\n[dim]{side.completed} completed, {side.parked} parked[/]"
    return text


def print_report(report: DayReport) -> None:
    titles = report.titles
    table = Table(title=f"{report.connection}: {report.day:%A %d %B %Y} ({report.time_zone})")
    table.add_column("outlet")
    table.add_column(f"{titles['pos']}\nclosed sales", justify="right")
    table.add_column(f"{titles['inventory']}\norders", justify="right")
    if report.accounting:
        table.add_column(f"{titles.get('accounting', 'accounting')}\ninvoices", justify="right")
    table.add_column("agree?")
    for o in report.outlets:
        row = [escape(o.outlet) + (f"\n[dim]→ {escape(o.warehouse)}[/]" if o.warehouse else ""),
               _side(o.pos), _side(o.inventory, True)]
        if report.accounting:
            row.append(_side(o.accounting))
        row.append("[green]yes[/]" if o.agrees else f"[red]{len(o.differences)} difference(s)[/]")
        table.add_row(*row)
    console.print(table)
    if not report.outlets:
        console.print("No closed sales that day.")
    if report.differences:
        diffs = Table(title="Differences", show_lines=True)
        for col in ("sale", "outlet", "where", "cause", "why", "what to do"):
            diffs.add_column(col, overflow="fold")
        for d in report.differences:
            diffs.add_row(escape(d.sale_number), escape(d.outlet), titles.get(d.system, d.system),
                          f"[yellow]{d.cause}[/]", escape(d.detail), escape(d.action))
        console.print(diffs)
        records = [d.reimport_record for d in report.differences if d.reimport_record]
        if records:
            console.print("Re-import (in the console, or here) retries a held or refused one once fixed:",
                          markup=False)
            for record in records:
                console.print(f"  tillbridge reimport -c {shlex.quote(report.connection)} --record "
                              f"{shlex.quote(record)}", markup=False, soft_wrap=True)
        since = sorted({d.import_since for d in report.differences if d.import_since})
        if since:
            console.print(f"Sales not imported yet come with the next sync, or now with: tillbridge import sales "
                          f"--since {since[0]} -c {shlex.quote(report.connection)}", markup=False, soft_wrap=True)
    for role, why in report.unchecked.items():
        console.print(f"[yellow]Not checked:[/] {escape(why)}")
    if report.excluded:
        kinds: dict[str, int] = {}
        for status in report.excluded.values():
            kinds[status] = kinds.get(status, 0) + 1
        console.print("[dim]Not expected elsewhere: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
                      + "[/]")
    if report.agrees:
        console.print("[green]The systems agree.[/]")


@click.command("reconcile")
@click.option("--date", "day_text", default=None, metavar="YYYY-MM-DD",
              help="Trading day to check (also 'today'; default: yesterday), in the retailer's time zone.")
@click.option("--json", "as_json", is_flag=True, help="Print the reconciliation as one JSON object.")
@connection_option
@pass_state
def reconcile_command(state: CliState, day_text: str | None, as_json: bool, connection_name: str | None) -> None:
    """Do the POS, the inventory system and the accounting provider agree on a day's sales?

    For each outlet: the POS's closed sales (count, total incl. tax), the inventory system's orders
    made from them (completed / parked) and the accounting provider's invoices, with each
    difference named by sale number, its cause and what fixes it. Reads the remote systems only
    for that day.

    Exit code: 0 when the systems agree, 1 when there are differences (or a system could not be
    checked), 2 on an error (bad date, connection not set up).
    """
    conn = state.connection(connection_name)
    report = reconcile(state.app, conn.name, pick_day(state, conn.name, day_text))
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2, default=str))
    else:
        print_report(report)
    raise SystemExit(EXIT_AGREE if report.agrees else EXIT_DIFFERENCES)

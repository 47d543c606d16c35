"""``tillbridge demo`` and ``tillbridge sandbox serve``."""

from __future__ import annotations

import json
import sys
import time

import click
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Table

from ..app import App
from ..demo import DEMO_CONNECTION, run_demo
from ..emulation import BackgroundServer, Emulator
from ..plugins import Plugins
from .base import CliState, TillbridgeGroup, console, pass_state


@click.command("demo")
@click.option("--fresh", is_flag=True, help="Use a temporary database instead of your default one.")
@click.option("--seed", default=7, show_default=True, help="Seed of the emulated retailer.")
@click.option("--products", default=300, show_default=True, help="Products in the emulated store.")
@click.option("--web", is_flag=True, help="Then keep the emulators running and open the web console.")
@pass_state
def demo_command(state: CliState, fresh: bool, seed: int, products: int, web: bool) -> None:
    """Run a whole retailer on emulators: install, map, sync every flow, summarise."""
    console.print("[bold]tillbridge demo[/]: Lightspeed, Unleashed and friends emulated on this machine\n")
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed} records"), console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(flow: str, fetched: int) -> None:
            if flow not in tasks:
                tasks[flow] = bar.add_task(f"syncing {flow}", total=None)
            bar.update(tasks[flow], completed=fetched)

        def keep_running(app: App, urls: dict[str, str]) -> None:
            if not web:
                return
            from ..web import serve_console  # only when asked: the console is optional at runtime

            bar.stop()
            serve_console(app, demo_urls=urls)

        report = run_demo(database=None if fresh else state.database_url, fresh=fresh, seed=seed,
                          products=products, progress=progress, create_database=state.create_database,
                          on_phase=lambda text: console.print(f"• {text}"), keep_running=keep_running,
                          history=web)

    console.print(f"\nDatabase: {report.database_url}")
    console.print("Emulators: " + ", ".join(f"{k} at {v}" for k, v in report.emulator_urls.items()))
    console.print(f"Outlets: {report.outlets}, warehouses: {report.warehouses}, mapped one-to-one: {report.mapped}")
    table = Table(title="What each flow did", show_lines=False)
    for col in ("step", "flow", "status", "result"):
        table.add_column(col, overflow="fold")
    for phase, flow, status, sentence in report.sentences:
        colour = {"ok": "green", "deferred": "yellow"}.get(status, "red")
        about = report.flow_descriptions.get(flow, "")
        what = sentence.split(": ", 1)[-1]
        table.add_row(phase, flow, f"[{colour}]{status}[/]", what + (f"\n[dim]{about}[/]" if about else ""))
    console.print(table)
    console.print("API calls received by each emulator: "
                  + ", ".join(f"{k} {v}" for k, v in report.api_calls.items()))
    console.print(f"Check: {report.products_matching} of {report.products_source} POS products are in the "
                  f"inventory system with the same code, description and price.")
    if report.refused:
        console.print(f"[yellow]{len(report.refused)} refused as expected[/] "
                      f"(e.g. {report.refused[0][:40]}…): see `tillbridge log --level error -c {DEMO_CONNECTION}`"
                      + (" (add --database-url for a --fresh run)" if fresh else ""))
    if report.open_failures:
        console.print(f"{report.open_failures} records wait in the connection log (failed or held, each with its "
                      f"reason and fix); `tillbridge reimport -c {DEMO_CONNECTION}` retries them.")
    if not report.ok:
        console.print("[red]The demo did not end as expected.[/]")
        raise SystemExit(1)
    console.print("[green]Demo finished.[/]")


@click.group(cls=TillbridgeGroup)
def sandbox() -> None:
    """Emulators of the remote APIs, for trying clients without a live account."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, show_default=True, help="First port (0: any free ports).")
@click.option("--seed", default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object keyed by emulator name.")
@click.option("--history/--no-history", default=True, show_default=True,
              help="Seed a few past days of till sales (to import since a date, and to reconcile).")
@click.option("--for-seconds", default=None, type=float, hidden=True)
@pass_state
def sandbox_serve(state: CliState, host: str, port: int, seed: int, as_json: bool, history: bool,
                  for_seconds: float | None) -> None:
    """Run every installed emulator and print its base URL and demo credentials."""
    plugins = Plugins()
    registry = plugins.registries.emulators
    emulators: dict[str, Emulator] = {}
    servers = []
    info: dict[str, dict[str, object]] = {}
    try:
        for i, (name, cls) in enumerate(sorted(registry.items())):
            emulator = emulators[name] = cls(seed=seed)
            server = BackgroundServer(emulator, host=host, port=port + i if port else 0).start()
            servers.append(server)
            values: dict[str, object] = {"base_url": server.url, **emulator.credentials(server.url)}
            issue = getattr(emulator, "issue_token", None)
            if callable(issue) and "access_token" not in values:
                # A ready access token, so a client can skip the OAuth dance.
                token = issue()
                values.update({k: v for k, v in token.items() if k in {"access_token", "refresh_token",
                                                                       "tenant_id", "realm_id"}})
            info[name] = values
        if history:
            plugins.demo_scenario(emulators, "history")
        if as_json:
            click.echo(json.dumps(info, default=str), nl=True)
            sys.stdout.flush()
        else:
            for name, values in info.items():
                console.print(f"[bold]{name}[/]")
                for key, value in values.items():
                    console.print(f"  {key}: {value}")
            console.print("Press Ctrl-C to stop.")
        deadline = time.monotonic() + for_seconds if for_seconds else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.stop()



"""``tillbridge run`` (the daemon) and ``tillbridge webhooks register|list|unregister``."""

from __future__ import annotations

from typing import Any, Callable

import click
from rich.table import Table

from ..connector import Connector
from ..daemon.handlers import WebhookHandler
from ..daemon.options import DaemonOptions
from ..errors import ConfigError
from .base import CliState, TillbridgeGroup, connection_option, console, pass_state


def process_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options every long-running process shares (the daemon, a producer, a worker): its logs,
    how often held records are retried, and how long SIGTERM waits for the page in flight."""
    for option in reversed((
        click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                     envvar="TILLBRIDGE_LOG_FORMAT"),
        click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
                     show_default=True, envvar="TILLBRIDGE_LOG_LEVEL"),
        click.option("--held-retry", type=click.FloatRange(1), default=300.0, show_default=True, metavar="SECONDS",
                     help="How often records held for a missing dependency are retried."),
        click.option("--shutdown-timeout", type=click.FloatRange(0), default=8.0, show_default=True,
                     metavar="SECONDS", help="How long SIGTERM waits for runs to finish their page."),
    )):
        command = option(command)
    return command


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` → (host, port); host defaults to loopback."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:8480 or 0.0.0.0:8480)") from None
    if not 0 <= number <= 65535:
        raise click.BadParameter(f"port {number} is out of range")
    return (host.strip("[]") or "127.0.0.1"), number


@click.command("run")
@click.option("--listen", default="127.0.0.1:8480", show_default=True, envvar="TILLBRIDGE_LISTEN", metavar="HOST:PORT",
              help="Where to serve webhooks, /healthz and /metrics.")
@click.option("--webhooks/--no-webhooks", default=True, show_default=True,
              help="Receive webhooks (polling always runs).")
@click.option("--connection", "-c", "connections", multiple=True, metavar="NAME",
              help="Only this connection (repeatable; default: all, including ones added later).")
@process_options
@click.option("--max-backoff", type=click.FloatRange(1), default=900.0, show_default=True, metavar="SECONDS",
              help="Longest pause of a flow that keeps failing.")
@click.option("--debounce", type=click.FloatRange(0), default=1.0, show_default=True, metavar="SECONDS",
              help="Delay between a webhook and its flow's run (later webhooks ride along).")
@click.option("--reconcile", type=click.FloatRange(0.2), default=5.0, show_default=True, metavar="SECONDS",
              help="How often settings and connections are re-read.")
@click.option("--webhook-max-age", type=click.FloatRange(0), default=300.0, show_default=True, metavar="SECONDS",
              help="Refuse signed webhook timestamps this far from our clock (0: do not check).")
@click.option("--allow-unsigned-webhooks", is_flag=True,
              help="Accept webhooks a connection cannot verify (e.g. Lightspeed personal tokens). They only "
                   "trigger a poll, never carry data.")
@click.option("--distributed", is_flag=True, envvar="TILLBRIDGE_DISTRIBUTED",
              help="Queue the due flows for `tillbridge worker` processes instead of running them (PostgreSQL; "
                   "several may run: one is active, the others stand by). See README, \"Scaling out\".")
@pass_state
def run_command(state: CliState, listen: str, webhooks: bool, connections: tuple[str, ...], log_format: str,
                log_level: str, max_backoff: float, debounce: float, held_retry: float, reconcile: float,
                shutdown_timeout: float, webhook_max_age: float, allow_unsigned_webhooks: bool,
                distributed: bool) -> None:
    """Run the daemon: every connection's flows on schedule, webhooks, /healthz and /metrics.

    Stops on SIGTERM after finishing the page in flight (a second SIGTERM exits at once).
    See docs/daemon.md.
    """
    from ..daemon.logging_setup import setup_logging
    from ..daemon.service import run_daemon

    host, port = parse_listen(listen)
    setup_logging(log_format, log_level)
    options = DaemonOptions(
        listen_host=host, listen_port=port, webhooks=webhooks, connections=connections,
        reconcile_seconds=reconcile, max_backoff=max_backoff, debounce=debounce, shutdown_timeout=shutdown_timeout,
        held_retry_seconds=held_retry, webhook_max_age=webhook_max_age or None,
        allow_unsigned_webhooks=allow_unsigned_webhooks,
    )
    state.check_database()
    if distributed:
        from ..distributed.producer import run_producer

        raise SystemExit(run_producer(state.database_url, options))
    raise SystemExit(run_daemon(state.database_url, options))


@click.group("webhooks", cls=TillbridgeGroup)
def webhooks_group() -> None:
    """Subscribe a connection's systems to send webhooks to `tillbridge run`."""


def _handlers(state: CliState, connection: str, system: str | None) -> list[tuple[str, WebhookHandler, Connector]]:
    """(system, handler, connector) for each system of the connection that has a webhook handler."""
    app = state.app
    handlers = app.plugins.webhook_handlers()
    rt = app.runtime(connection)
    out = []
    for role, ref in sorted(rt.systems.items()):
        if (system and ref.system != system) or ref.system not in handlers:
            continue
        out.append((ref.system, handlers[ref.system], rt.connector(role)))
    if not out:
        known = ", ".join(sorted(handlers)) or "none"
        raise ConfigError(f"connection {connection!r} has no system that sends webhooks"
                          + (f" named {system!r}" if system else ""), fix=f"systems with webhooks: {known}")
    return out


def _endpoint(base: str, system: str, connection: str) -> str:
    from ..daemon.webhooks import webhook_path

    return base.rstrip("/") + webhook_path(system, connection)


@webhooks_group.command("register")
@click.option("--url", required=True, metavar="URL",
              help="Public base URL of the daemon's listener (e.g. https://sync.example.com); "
                   "each system delivers to URL/webhooks/SYSTEM/CONNECTION.")
@click.option("--system", default=None, help="Only this system (default: every system with webhooks).")
@connection_option
@pass_state
def register_command(state: CliState, url: str, system: str | None, connection_name: str | None) -> None:
    """Subscribe (idempotent: run it again after a URL or credential change)."""
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter("the URL must start with https:// (or http:// for a local test)")
    conn = state.connection(connection_name)
    for name, handler, connector in _handlers(state, conn.name, system):
        endpoint = _endpoint(url, name, conn.name)
        console.print(f"[bold]{name}[/] → {endpoint}")
        for line in handler.subscribe(connector, endpoint):
            console.print(f"  {line}", markup=False)


@webhooks_group.command("list")
@click.option("--system", default=None)
@connection_option
@pass_state
def list_command(state: CliState, system: str | None, connection_name: str | None) -> None:
    """The subscriptions each system holds for this connection's account."""
    conn = state.connection(connection_name)
    table = Table(title=f"webhooks of {conn.name}")
    for col in ("system", "url", "events", "active", "id"):
        table.add_column(col)
    for name, handler, connector in _handlers(state, conn.name, system):
        for sub in handler.subscriptions(connector):
            table.add_row(name, sub.url, ", ".join(sub.events), "yes" if sub.active else "no", sub.id)
    console.print(table)


@webhooks_group.command("unregister")
@click.option("--url", required=True, metavar="URL", help="The base URL given to `register`.")
@click.option("--system", default=None)
@connection_option
@pass_state
def unregister_command(state: CliState, url: str, system: str | None, connection_name: str | None) -> None:
    """Remove the subscriptions that deliver to URL."""
    conn = state.connection(connection_name)
    for name, handler, connector in _handlers(state, conn.name, system):
        removed = handler.unsubscribe(connector, _endpoint(url, name, conn.name))
        console.print(f"{name}: {removed} subscription(s) removed")


__all__ = ["parse_listen", "run_command", "webhooks_group"]

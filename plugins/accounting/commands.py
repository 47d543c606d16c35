"""CLI: ``tillbridge connect xero|quickbooks`` and the ``tillbridge accounting`` group.

Only parsing and printing here; the work is in :mod:`tillbridge_accounting.services`.
"""

from __future__ import annotations

from typing import Any

import click

from tillbridge.admin import parse_date
from tillbridge.cli import CliState, TillbridgeGroup, connection_option, console, pass_state, print_results

from . import services
from .config import FLOW_NAME


def register(cli: click.Group) -> None:
    connect = cli.commands.get("connect")
    if isinstance(connect, click.Group):
        connect.add_command(connect_xero)
        connect.add_command(connect_quickbooks)
    cli.add_command(accounting)


def _emulator_urls(emulator: str | None) -> dict[str, str]:
    if not emulator:
        return {}
    root = emulator.rstrip("/")
    return {"api_url": f"{root}/api.xro/2.0", "identity_url": root, "login_url": root}


@click.command("xero")
@click.option("--connection", "-c", "connection_name", default="main", show_default=True)
@click.option("--client-id", envvar="XERO_CLIENT_ID", required=True, help="Your Xero app's client id.")
@click.option("--client-secret", envvar="XERO_CLIENT_SECRET", required=True)
@click.option("--tenant", default=None, help="Organisation name or id, when several are connected.")
@click.option("--emulator", default=None, metavar="URL", help="Use a Xero emulator at URL (sandbox serve).")
@click.option("--api-url", default=None, help="Accounting API base (default https://api.xero.com/api.xro/2.0).")
@click.option("--identity-url", default=None, help="Token host (default https://identity.xero.com).")
@click.option("--port", default=0, help="Loopback port for the redirect (0: any).")
@click.option("--no-browser", is_flag=True, help="Print the address instead of opening a browser.")
@pass_state
def connect_xero(state: CliState, connection_name: str, client_id: str, client_secret: str, tenant: str | None,
                 emulator: str | None, api_url: str | None, identity_url: str | None, port: int,
                 no_browser: bool) -> None:
    """Connect a Xero organisation (OAuth 2.0; the organisation comes from Xero's connections)."""
    urls: dict[str, Any] = {"api_url": api_url, "identity_url": identity_url, **_emulator_urls(emulator)}
    result = services.connect_xero(state.admin, connection_name, client_id=client_id, client_secret=client_secret,
                                   tenant=tenant, port=port, open_browser=not no_browser, announce=click.echo,
                                   **{k: v for k, v in urls.items() if v})
    click.echo(f"Connected: {result.description}. Next: `tillbridge accounting doctor -c {connection_name}`, "
               f"then `tillbridge accounting enable -c {connection_name}`.")


@click.command("quickbooks")
@click.option("--connection", "-c", "connection_name", default="main", show_default=True)
@click.option("--client-id", envvar="QUICKBOOKS_CLIENT_ID", required=True)
@click.option("--client-secret", envvar="QUICKBOOKS_CLIENT_SECRET", required=True)
@click.option("--emulator", default=None, metavar="URL", help="Use a QuickBooks emulator at URL.")
@click.option("--api-url", default=None, help="API host (default https://quickbooks.api.intuit.com; "
                                               "sandbox: https://sandbox-quickbooks.api.intuit.com).")
@click.option("--port", default=0, help="Loopback port for the redirect (0: any).")
@click.option("--no-browser", is_flag=True, help="Print the address instead of opening a browser.")
@pass_state
def connect_quickbooks(state: CliState, connection_name: str, client_id: str, client_secret: str,
                       emulator: str | None, api_url: str | None, port: int, no_browser: bool) -> None:
    """Connect a QuickBooks Online company (OAuth 2.0; the company comes back as realmId)."""
    urls: dict[str, Any] = {"api_url": api_url}
    if emulator:
        root = emulator.rstrip("/")
        urls = {"api_url": root, "token_url": f"{root}/oauth2/v1/tokens/bearer",
                "authorize_url": f"{root}/connect/oauth2"}
    result = services.connect_quickbooks(state.admin, connection_name, client_id=client_id,
                                         client_secret=client_secret, port=port, open_browser=not no_browser,
                                         announce=click.echo, **{k: v for k, v in urls.items() if v})
    click.echo(f"Connected: {result.description}. Next: `tillbridge accounting enable -c {connection_name}`.")


@click.group("accounting", cls=TillbridgeGroup)
def accounting() -> None:
    """Sales invoices to the accounting provider (Xero, QuickBooks Online), exactly once."""


@accounting.command("enable")
@connection_option
@click.option("--provider", default=None, metavar="SYSTEM",
              help="xero, quickbooks, or another installed accounting provider (default: the one connected).")
@click.option("--force", is_flag=True, help="Enable even when another app already posts sales there.")
@pass_state
def enable_command(state: CliState, connection_name: str | None, provider: str | None, force: bool) -> None:
    """Send invoices from now on (earlier ones only with `accounting send --since`)."""
    name = state.connection_name(connection_name)
    result = services.enable(state.admin, name, provider=provider, force=force)
    if result.already:
        console.print(f"Accounting invoices were already on for {name} (invoices made from "
                      f"{result.since:%Y-%m-%d %H:%M:%S} UTC go to {result.provider}).")
        return
    if result.doctor is not None and result.doctor.note:
        console.print(f"[yellow]Note:[/] {result.doctor.note}")
    console.print(f"Accounting invoices are [green]on[/] for {name}: invoices made from "
                  f"{result.since:%Y-%m-%d %H:%M:%S} UTC go to {result.provider}.")


@accounting.command("disable")
@connection_option
@pass_state
def disable_command(state: CliState, connection_name: str | None) -> None:
    """Stop sending invoices at once."""
    name = state.connection_name(connection_name)
    services.disable(state.admin, name)
    console.print(f"Accounting invoices are [yellow]off[/] for {name}: nothing more is sent.")


@accounting.command("send")
@click.option("--since", required=True, metavar="DATE", help="YYYY-MM-DD (UTC) or an ISO timestamp.")
@connection_option
@pass_state
def send_command(state: CliState, since: str, connection_name: str | None) -> None:
    """Send invoices dated from DATE that the provider does not have yet (never twice)."""
    name = state.connection_name(connection_name)
    print_results([services.send_since(state.admin, name, parse_date(since))])


@accounting.command("status")
@click.option("--offline", is_flag=True, help="Do not ask the provider for its budget.")
@connection_option
@pass_state
def status_command(state: CliState, offline: bool, connection_name: str | None) -> None:
    """Sent, pending and failed invoices, and the provider's remaining daily budget."""
    name = state.connection_name(connection_name)
    st = services.status(state.admin, name, live=not offline)
    switch = "[green]on[/]" if st.enabled else "[yellow]off[/]"
    console.print(f"Accounting invoices for {name}: {switch} → {st.provider or 'no provider connected'}")
    if st.since:
        console.print(f"  sending invoices made from {st.since:%Y-%m-%d %H:%M:%S} UTC")
    c = st.counts
    console.print(f"  sent {c.get('sent', 0)} · pending {c.get('pending', 0)} · deferred {c.get('deferred', 0)} · "
                  f"failed {c.get('failed', 0)} (open in the log: {st.open_failures})")
    if st.open_failures:
        console.print(f"  why: `tillbridge log --level error --entity invoice -c {name}`; "
                      f"retry: `tillbridge reimport --entity invoice -c {name}`")
    if st.budget is not None:
        b = st.budget
        if b.day_remaining is not None:
            when = f" (as of {b.seen_at:%Y-%m-%d %H:%M} UTC)" if b.seen_at else ""
            console.print(f"  daily API budget left: {b.day_remaining} calls{when}")
        else:
            console.print(f"  daily API budget: {b.note or 'unknown'}")
    if st.last_run:
        console.print(f"  last {FLOW_NAME} run: {st.last_run}")


@accounting.command("map-account")
@click.argument("key")
@click.argument("code", required=False)
@click.option("--remove", is_flag=True, help="Forget the mapping of KEY.")
@click.option("--no-check", is_flag=True, help="Do not check CODE at the provider.")
@connection_option
@pass_state
def map_account_command(state: CliState, key: str, code: str | None, remove: bool, no_check: bool,
                        connection_name: str | None) -> None:
    """Book lines on account CODE: KEY is `default`, a product code or `tax:TAXCODE`.

    QuickBooks books lines on items: CODE is then an item name or id.
    """
    if not remove and not code:
        raise click.UsageError("give the account CODE, or --remove")
    name = state.connection_name(connection_name)
    services.map_account(state.admin, name, key, None if remove else code, check=not no_check)
    console.print(f"{key} → {'(provider default)' if remove else code}")


@accounting.command("map-tax")
@click.argument("inventory_code")
@click.argument("provider_code", required=False)
@click.option("--remove", is_flag=True)
@click.option("--no-check", is_flag=True, help="Do not check PROVIDER_CODE at the provider.")
@connection_option
@pass_state
def map_tax_command(state: CliState, inventory_code: str, provider_code: str | None, remove: bool, no_check: bool,
                    connection_name: str | None) -> None:
    """Send lines of inventory tax INVENTORY_CODE with the provider's PROVIDER_CODE (Xero TaxType)."""
    if not remove and not provider_code:
        raise click.UsageError("give the PROVIDER_CODE, or --remove")
    name = state.connection_name(connection_name)
    services.map_tax(state.admin, name, inventory_code, None if remove else provider_code, check=not no_check)
    console.print(f"{inventory_code} → {'(matched by rate)' if remove else provider_code}")


@accounting.command("doctor")
@click.option("--days", default=services.DOCTOR_DAYS, show_default=True, help="How far back to look.")
@connection_option
@pass_state
def doctor_command(state: CliState, days: int, connection_name: str | None) -> None:
    """Check for the double-posting trap: our sales already in the provider, made by another app."""
    name = state.connection_name(connection_name)
    report = services.doctor(state.admin, name, days=days)
    if report.note:
        console.print(report.note)
    if report.risky:
        console.print(f"[bold red]Warning:[/] {report.warning()}", markup=True)
        console.print("  → turn off the other app's posting before `tillbridge accounting enable`")
        raise SystemExit(1)
    console.print(f"[green]OK[/]: {report.sales_checked} recent sale(s) checked; none posted to "
                  f"{report.provider} by another app ({report.ours} by tillbridge).")

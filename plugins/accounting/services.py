"""What an administrator does with accounting, once: the CLI (and a console) call these.

``enable`` / ``disable`` / ``send_since`` / ``status`` / ``map_account`` / ``map_tax`` /
``doctor``, and ``connect_xero`` / ``connect_quickbooks`` (OAuth 2.0 in a browser, in
:mod:`.connect`). Each takes ``app`` (an app, or its :class:`tillbridge.admin.Admin`) and a
connection name, works only through that public facade, and raises
:class:`~tillbridge.TillbridgeError` subclasses with a fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tillbridge import ConfigError, Sale, TillbridgeError
from tillbridge.admin import Admin, RunResult

from . import budget as budget_store
from .config import ACCOUNT_MAP, FLOW_NAME, SALES_ACCOUNT, SINCE, SWITCH, TAX_MAP, AccountingConfig, load
from .connect import (ConnectResult, connect_quickbooks, connect_xero, quickbooks_authorize_url,  # noqa: F401
                      quickbooks_exchange, quickbooks_urls, refused_consent, xero_authorize_url, xero_exchange,
                      xero_urls)
from .outbox import InvoiceOutbox
from .provider import AccountingConnector, Budget, RemoteInvoice
from .store_link import attach, require_link

#: How far back `doctor` looks for POS sales and provider invoices.
DOCTOR_DAYS = 14


class DoublePostingRisk(ConfigError):
    """The provider already holds invoices of our sales made by another app."""


# --- plumbing ----------------------------------------------------------------------------------
def _config(admin: Admin, name: str) -> AccountingConfig:
    """The accounting settings as stored right now (a fresh read, not a runtime's snapshot)."""
    return load(admin.state(name, "accounting"))


def provider_of(app: Any, name: str) -> AccountingConnector:
    """The connection's accounting connector, wired to the store (outbox, fresh settings)."""
    admin = Admin.of(app)
    if not admin.connection(name).has_role("accounting"):
        raise ConfigError(f"connection {name!r} has no accounting provider",
                          fix=f"connect one: `tillbridge connect xero -c {name}` (or quickbooks)")
    connector = admin.connector(name, "accounting")
    if not isinstance(connector, AccountingConnector):
        raise ConfigError(f"{connector.system} does not take invoices through the accounting interface")
    attach(connector.context, admin.state(name, connector.system))
    return connector


def attach_emulator(app: Any, name: str, emulator: Any, server_url: str) -> None:
    """Point a connection's accounting role at a running Xero or QuickBooks emulator (tests, demo)."""
    admin = Admin.of(app)
    system = emulator.name
    credentials = admin.connector_class(system).emulator_credentials(emulator, server_url)
    base = server_url.rstrip("/")  # the Xero connector accepts the root as well as {root}/api.xro/2.0
    admin.ensure_system(name, "accounting", system, base)
    admin.save_credentials(name, system, credentials, check=False)


# --- the double-posting check ----------------------------------------------------------------------
@dataclass
class DoctorReport:
    provider: str
    sales_checked: int = 0
    others: list[RemoteInvoice] = field(default_factory=list)
    ours: int = 0
    note: str = ""

    @property
    def risky(self) -> bool:
        return bool(self.others)

    def warning(self) -> str:
        examples = ", ".join(f"{r.number or r.id} (ref {r.reference or r.number})" for r in self.others[:3])
        return (f"{len(self.others)} invoice(s) in {self.provider} carry Lightspeed sale numbers but were not made "
                f"by tillbridge (e.g. {examples}): Lightspeed (or another app) already posts sales to "
                f"{self.provider}. Sending invoices as well would post every sale twice.")


def doctor(app: Any, name: str, *, days: int = DOCTOR_DAYS) -> DoctorReport:
    """Look in the provider for invoices of recent POS sales that another app created."""
    admin = Admin.of(app)
    provider = provider_of(admin, name)
    report = DoctorReport(provider.title or provider.system)
    if not admin.connection(name).has_role("pos"):
        report.note = "no point of sale is connected: nothing to compare with"
        return report
    since = datetime.now(timezone.utc) - timedelta(days=days)
    pos = admin.connector(name, "pos")
    numbers: list[str] = []
    cursor = None
    for _ in range(50):  # at most 50 pages of sales: enough to see the pattern
        page = pos.fetch("sale", cursor, since=since if cursor is None else None)
        numbers.extend(s.number for s in page.records if isinstance(s, Sale) and s.status == "closed")
        cursor = page.cursor
        if not page.more:
            break
    report.sales_checked = len(numbers)
    if not numbers:
        report.note = f"no closed sales in the last {days} days to compare with"
        return report
    found = provider.invoices_referencing(numbers, since)
    ours = InvoiceOutbox(require_link(provider.context), provider.system).sent_target_ids()
    for remote in found:
        mine = remote.mine if remote.mine is not None else remote.id in ours
        if mine:
            report.ours += 1
        else:
            report.others.append(remote)
    return report


# --- switching ---------------------------------------------------------------------------------
@dataclass
class EnableResult:
    provider: str
    since: datetime
    doctor: DoctorReport | None
    already: bool = False


def enable(app: Any, name: str, *, provider: str | None = None, force: bool = False,
           now: datetime | None = None) -> EnableResult:
    """Turn accounting invoices on: only invoices made from now on are sent.

    Checks the provider connection and the double-posting trap first (``force`` skips the
    latter), then moves the invoice cursor to now, records the moment, and flips the switch.
    """
    admin = Admin.of(app)
    info = admin.connection(name)
    if provider is not None:
        providers = admin.systems_for_role("accounting")
        if provider not in providers:
            raise ConfigError(f"{provider!r} is not an accounting provider", fix="installed: " + ", ".join(providers))
        if info.system_of("accounting") != provider:
            admin.set_system(name, "accounting", provider)
            info = admin.connection(name)
    current_config = _config(admin, name)
    if current_config.enabled and current_config.since is not None and provider in (None, info.system_of("accounting")):
        # Already on: moving the start now would skip invoices made since the last run.
        connector = provider_of(admin, name)
        return EnableResult(connector.title or connector.system, current_config.since, None, already=True)
    if not info.has_role("inventory"):
        raise ConfigError(f"connection {name!r} has no inventory system to read invoices from",
                          fix=f"connect Unleashed first: `tillbridge connect unleashed -c {name}`")
    connector = provider_of(admin, name)
    if not admin.has_credentials(name, connector.system):
        raise ConfigError(f"{connector.title} is not connected for {name!r}",
                          fix=f"run `tillbridge connect {connector.system} -c {name}` first")
    connector.check()
    report = None
    if not force:
        report = doctor(admin, name)
        if report.risky:
            raise DoublePostingRisk(report.warning(),
                                    fix=f"turn off the other app's posting (Lightspeed: Setup → Add-ons → "
                                        f"{connector.title}), or enable anyway with --force")
    moment = now or datetime.now(timezone.utc)
    _move_cursor_to(admin, name, moment)
    admin.set_settings(name, {SINCE: moment.isoformat(), SWITCH: True})
    return EnableResult(connector.title or connector.system, moment, report)


def _move_cursor_to(admin: Admin, name: str, moment: datetime) -> None:
    """Start the invoice feed at ``moment`` (the source turns the date into its own cursor)."""
    source = admin.connector(name, "inventory")
    cursor = None
    since: datetime | None = moment
    while True:
        page = source.fetch("invoice", cursor, since=since)
        since, cursor = None, page.cursor
        if not page.more:
            break
    admin.set_cursor(name, FLOW_NAME, cursor)


def disable(app: Any, name: str) -> None:
    """Stop sending at once: the sender reads the switch before every provider write."""
    Admin.of(app).set_settings(name, {SWITCH: False})


def send_since(app: Any, name: str, since: datetime) -> RunResult:
    """Send every invoice dated from ``since`` that the provider does not have yet."""
    admin = Admin.of(app)
    if not _config(admin, name).enabled:
        raise ConfigError("accounting invoices are switched off for this connection",
                          fix=f"enable them first: `tillbridge accounting enable -c {name}`")
    admin.set_settings(name, {SINCE: since.isoformat()})
    provider_of(admin, name)
    return admin.run_flow(name, FLOW_NAME, since=since, trigger="accounting send")


# --- status ------------------------------------------------------------------------------------
@dataclass
class Status:
    enabled: bool
    provider: str | None
    since: datetime | None
    counts: dict[str, int]
    open_failures: int
    budget: Budget | None
    last_run: str | None = None


def status(app: Any, name: str, *, live: bool = True) -> Status:
    admin = Admin.of(app)
    config = _config(admin, name)
    if not admin.connection(name).has_role("accounting"):
        return Status(config.enabled, None, config.since, {}, 0, None)
    connector = provider_of(admin, name)
    link = require_link(connector.context)
    counts = InvoiceOutbox(link, connector.system).counts()
    failures = admin.open_failures(name, flow=FLOW_NAME)
    seen: Budget | None = None
    if live:
        try:
            seen = connector.refresh_budget()
        except TillbridgeError:
            seen = None
    if seen is None or seen.seen_at is None:
        seen = budget_store.recall(link) or connector.budget()
    else:
        budget_store.remember(link, seen)
    run = admin.last_run(name, FLOW_NAME)
    last = f"{run[0]} at {run[1]:%Y-%m-%d %H:%M} UTC" if run else None
    return Status(config.enabled, connector.describe(), config.since, counts, failures, seen, last)


# --- mappings ----------------------------------------------------------------------------------
def map_account(app: Any, name: str, key: str, code: str | None, *, check: bool = True) -> dict[str, str]:
    """``key``: ``default``, a product code, or ``tax:CODE``; ``code`` None removes the mapping."""
    admin = Admin.of(app)
    if code is not None and check:
        provider_of(admin, name).check_account(code)
    config = _config(admin, name)
    if key == "default":
        admin.set_settings(name, {SALES_ACCOUNT: code})
        mapping = dict(config.account_map)
        mapping.pop("default", None)
        admin.set_settings(name, {ACCOUNT_MAP: mapping})
        return {"default": code or ""}
    mapping = dict(config.account_map)
    if code is None:
        mapping.pop(key, None)
    else:
        mapping[key] = code
    admin.set_settings(name, {ACCOUNT_MAP: mapping})
    return mapping


def map_tax(app: Any, name: str, inventory_code: str, provider_code: str | None, *,
            check: bool = True) -> dict[str, str]:
    admin = Admin.of(app)
    if provider_code is not None and check:
        provider_of(admin, name).check_tax(provider_code)
    mapping = dict(_config(admin, name).tax_map)
    if provider_code is None:
        mapping.pop(inventory_code, None)
    else:
        mapping[inventory_code] = provider_code
    admin.set_settings(name, {TAX_MAP: mapping})
    return mapping

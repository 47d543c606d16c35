"""What an administrator does with accounting, once: the CLI (and a console) call these.

``enable`` / ``disable`` / ``send_since`` / ``status`` / ``map_account`` / ``map_tax`` /
``doctor``, and ``connect_xero`` / ``connect_quickbooks`` (OAuth 2.0 in a browser). All take the
app and a connection name and raise :class:`~tillbridge.TillbridgeError` subclasses with a fix.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from tillbridge import AuthError, ConfigError, ConnectionState, Sale, TillbridgeError, UnknownConnection
from tillbridge.app import App, ConnectionRuntime
from tillbridge.oauth import authorize_in_browser
from tillbridge.runner import FlowRunner, RunResult
from tillbridge.services import add_connection, save_credentials, set_system

from . import budget as budget_store
from .config import ACCOUNT_MAP, FLOW_NAME, SALES_ACCOUNT, SINCE, SWITCH, TAX_MAP, load
from .oauth2 import post_token, token_values
from .outbox import InvoiceOutbox
from .provider import AccountingConnector, Budget, RemoteInvoice
from .store_link import attach, require_link

#: How far back `doctor` looks for POS sales and provider invoices.
DOCTOR_DAYS = 14


class DoublePostingRisk(ConfigError):
    """The provider already holds invoices of our sales made by another app."""


# --- plumbing ----------------------------------------------------------------------------------
def _runtime(app: App, name: str) -> ConnectionRuntime:
    return app.runtime(name)


def _settings_state(app: App, rt: ConnectionRuntime) -> ConnectionState:
    """For a fresh read of the settings (:func:`load`); the namespace is not used by that."""
    return ConnectionState(app.store, rt.id, rt.name, "accounting")


def provider_of(app: App, name: str) -> AccountingConnector:
    """The connection's accounting connector, wired to the store (outbox, fresh settings)."""
    rt = _runtime(app, name)
    if not rt.has_role("accounting"):
        raise ConfigError(f"connection {name!r} has no accounting provider",
                          fix=f"connect one: `tillbridge connect xero -c {name}` (or quickbooks)")
    connector = rt.connector("accounting")
    if not isinstance(connector, AccountingConnector):
        raise ConfigError(f"{connector.system} does not take invoices through the accounting interface")
    attach(connector.context, ConnectionState(app.store, rt.id, rt.name, connector.system))
    return connector


def _ensure_connection(app: App, name: str) -> None:
    try:
        app.store.connection(name)
    except UnknownConnection:
        add_connection(app, name, {})


def attach_emulator(app: App, name: str, emulator: Any, server_url: str) -> None:
    """Point a connection's accounting role at a running Xero or QuickBooks emulator (tests, demo)."""
    system = emulator.name
    cls = app.connector_class(system)
    credentials = cls.emulator_credentials(emulator, server_url)
    base = server_url.rstrip("/")  # the Xero connector accepts the root as well as {root}/api.xro/2.0
    _ensure_connection(app, name)
    set_system(app, name, "accounting", system, base)
    app.store.save_credentials(app.store.connection(name).id or 0, system, credentials)
    app.forget_runtime(name)


# --- connect -----------------------------------------------------------------------------------
@dataclass
class ConnectResult:
    description: str
    tenants: list[str] = field(default_factory=list)


def xero_urls(base_url: str | None) -> tuple[str, str, str]:
    """``(API base, identity host, login host)`` for a Xero base URL: Xero's own three hosts, or
    an emulator's root (which serves all three)."""
    from .xero import API_URL, IDENTITY_URL, LOGIN_URL

    api = (base_url or API_URL).rstrip("/")
    if api == API_URL.rstrip("/"):
        return api, IDENTITY_URL, LOGIN_URL
    root = api[: -len("/api.xro/2.0")] if api.endswith("/api.xro/2.0") else api
    return f"{root}/api.xro/2.0", root, root


def xero_authorize_url(login: str, *, client_id: str, redirect_uri: str, state: str) -> str:
    from .xero import SCOPES

    return f"{login.rstrip('/')}/identity/connect/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": SCOPES,
        "state": state})


def refused_consent(callback: dict[str, str] | Any, provider: str) -> None:
    """The person pressed Cancel (or the provider refused): say so in words, and what to do."""
    error = callback.get("error")
    if not error:
        return
    if error == "access_denied":
        raise AuthError(f"{provider} was not connected: access was not allowed on {provider}'s page",
                        fix=f"press Connect {provider} again and choose “Allow access” to connect it")
    raise AuthError(f"{provider} refused the connection ({error})",
                    fix=f"press Connect {provider} again; if it keeps failing, check the app's settings "
                        f"in {provider}'s developer portal")


def xero_exchange(api: str, identity: str, callback: dict[str, str] | Any, *, client_id: str, client_secret: str,
                  redirect_uri: str, tenant: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Trade the callback's code for tokens, then take the organisation the person picked on
    Xero's consent page: the connections of this authorisation (``authEventId`` of the access
    token, https://developer.xero.com/documentation/guides/oauth2/tenants). Returns the
    credentials to store and every organisation of that consent."""
    import httpx

    refused_consent(callback, "Xero")
    if not callback.get("code"):
        raise AuthError("Xero's answer carries no code", fix="press Connect Xero again")
    body = post_token(f"{identity.rstrip('/')}/connect/token", client_id, client_secret, {
        "grant_type": "authorization_code", "code": callback.get("code", ""), "redirect_uri": redirect_uri}, "Xero")
    values = token_values(body, {"client_id": client_id, "client_secret": client_secret,
                                 "identity_url": identity.rstrip("/")})
    root = api[: -len("/api.xro/2.0")] if api.endswith("/api.xro/2.0") else api
    event = _jwt_claim(str(values["access_token"]), "authentication_event_id")
    response = httpx.get(f"{root}/connections", params={"authEventId": event} if event else None,
                         headers={"Authorization": f"Bearer {values['access_token']}"}, timeout=30)
    if response.status_code != 200:
        raise ConfigError(f"Xero did not list the connected organisations (HTTP {response.status_code})",
                          fix="press Connect Xero again (or run `tillbridge connect xero` again)")
    rows = [r for r in response.json() if r.get("tenantType", "ORGANISATION") == "ORGANISATION"]
    chosen = _pick_tenant(rows, tenant)
    values["tenant_id"] = chosen["tenantId"]
    return values, rows


def _jwt_claim(token: str, claim: str) -> str | None:
    """A claim of a JWT's payload, read without checking the signature (only to filter a list)."""
    import base64
    import json

    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    value = payload.get(claim) if isinstance(payload, dict) else None
    return str(value) if value else None


def connect_xero(app: App, name: str, *, client_id: str, client_secret: str, api_url: str | None = None,
                 identity_url: str | None = None, login_url: str | None = None, tenant: str | None = None,
                 port: int = 0, open_browser: bool = True, visit: Callable[[str], None] | None = None,
                 announce: Callable[[str], None] = print) -> ConnectResult:
    """Authorise the app in a browser (the person picks the organisation on Xero's consent page),
    store the tokens encrypted. ``tenant`` (id or name) is needed only when one consent connected
    several organisations."""
    api, identity, login = xero_urls(api_url)
    identity = (identity_url or identity).rstrip("/")
    login = (login_url or login).rstrip("/")

    def build(redirect_uri: str, state: str) -> str:
        return xero_authorize_url(login, client_id=client_id, redirect_uri=redirect_uri, state=state)

    params, redirect_uri = authorize_in_browser(build, port=port, open_browser=open_browser, visit=visit,
                                                announce=announce)
    values, rows = xero_exchange(api, identity, params, client_id=client_id, client_secret=client_secret,
                                 redirect_uri=redirect_uri, tenant=tenant)
    names = [f"{r.get('tenantName')} ({r.get('tenantId')})" for r in rows]
    _ensure_connection(app, name)
    set_system(app, name, "accounting", "xero", api)
    return ConnectResult(save_credentials(app, name, "xero", values), names)


def _pick_tenant(rows: list[dict[str, Any]], wanted: str | None) -> dict[str, Any]:
    if not rows:
        raise ConfigError("no Xero organisation was connected", fix="choose an organisation on Xero's page")
    if wanted:
        text = wanted.strip().casefold()
        for row in rows:
            if text in {str(row.get("tenantId", "")).casefold(), str(row.get("tenantName", "")).casefold()}:
                return row
        raise ConfigError(f"no connected Xero organisation is called {wanted!r}",
                          fix="one of: " + ", ".join(str(r.get("tenantName")) for r in rows))
    if len(rows) > 1:
        raise ConfigError("several Xero organisations are connected: say which",
                          fix="--tenant NAME, one of: " + ", ".join(str(r.get("tenantName")) for r in rows))
    return rows[0]


def quickbooks_urls(base_url: str | None) -> tuple[str, str, str]:
    """``(API base, token URL, authorize URL)``: Intuit's, or an emulator's root serving all."""
    from .quickbooks import API_URL, AUTHORIZE_URL, TOKEN_URL

    api = (base_url or API_URL).rstrip("/")
    if api.endswith(".api.intuit.com") or api == API_URL.rstrip("/"):
        return api, TOKEN_URL, AUTHORIZE_URL
    return api, f"{api}/oauth2/v1/tokens/bearer", f"{api}/connect/oauth2"


def quickbooks_authorize_url(authorize: str, *, client_id: str, redirect_uri: str, state: str) -> str:
    from .quickbooks import SCOPES

    return f"{authorize}?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": SCOPES,
        "state": state})


def quickbooks_exchange(token: str, callback: dict[str, str] | Any, *, client_id: str, client_secret: str,
                        redirect_uri: str) -> dict[str, Any]:
    """Trade the code for tokens; the company picked on Intuit's page comes back as ``realmId``."""
    refused_consent(callback, "QuickBooks")
    if not callback.get("realmId"):
        raise ConfigError("QuickBooks did not say which company was connected (no realmId)",
                          fix="press Connect QuickBooks again and pick a company")
    body = post_token(token, client_id, client_secret, {
        "grant_type": "authorization_code", "code": callback.get("code", ""), "redirect_uri": redirect_uri},
        "QuickBooks")
    return token_values(body, {"client_id": client_id, "client_secret": client_secret,
                               "realm_id": callback["realmId"], "token_url": token})


def connect_quickbooks(app: App, name: str, *, client_id: str, client_secret: str, api_url: str | None = None,
                       token_url: str | None = None, authorize_url: str | None = None, port: int = 0,
                       open_browser: bool = True, visit: Callable[[str], None] | None = None,
                       announce: Callable[[str], None] = print) -> ConnectResult:
    """Authorise in a browser; the company (``realmId``) comes back on the redirect."""
    from .quickbooks import API_URL, AUTHORIZE_URL, TOKEN_URL

    api = (api_url or API_URL).rstrip("/")
    token = token_url or TOKEN_URL
    authorize = authorize_url or AUTHORIZE_URL

    def build(redirect_uri: str, state: str) -> str:
        return quickbooks_authorize_url(authorize, client_id=client_id, redirect_uri=redirect_uri, state=state)

    params, redirect_uri = authorize_in_browser(build, port=port, open_browser=open_browser, visit=visit,
                                                announce=announce)
    values = quickbooks_exchange(token, params, client_id=client_id, client_secret=client_secret,
                                 redirect_uri=redirect_uri)
    _ensure_connection(app, name)
    set_system(app, name, "accounting", "quickbooks", api)
    return ConnectResult(save_credentials(app, name, "quickbooks", values))


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


def doctor(app: App, name: str, *, days: int = DOCTOR_DAYS) -> DoctorReport:
    """Look in the provider for invoices of recent POS sales that another app created."""
    provider = provider_of(app, name)
    rt = _runtime(app, name)
    report = DoctorReport(provider.title or provider.system)
    if not rt.has_role("pos"):
        report.note = "no point of sale is connected: nothing to compare with"
        return report
    since = datetime.now(timezone.utc) - timedelta(days=days)
    pos = rt.connector("pos")
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


def enable(app: App, name: str, *, provider: str | None = None, force: bool = False,
           now: datetime | None = None) -> EnableResult:
    """Turn accounting invoices on: only invoices made from now on are sent.

    Checks the provider connection and the double-posting trap first (``force`` skips the
    latter), then moves the invoice cursor to now, records the moment, and flips the switch.
    """
    rt = _runtime(app, name)
    if provider is not None:
        if provider not in app.registries.connectors or "accounting" not in app.connector_class(provider).roles:
            raise ConfigError(f"{provider!r} is not an accounting provider",
                              fix="installed: " + ", ".join(
                                  s for s, c in app.registries.connectors.items() if "accounting" in c.roles))
        current = rt.systems.get("accounting")
        if current is None or current.system != provider:
            set_system(app, name, "accounting", provider, None)
            rt = _runtime(app, name)
    current_config = load(_settings_state(app, rt))
    if current_config.enabled and current_config.since is not None and provider in (None, rt.system_of("accounting")):
        # Already on: moving the start now would skip invoices made since the last run.
        connector = provider_of(app, name)
        return EnableResult(connector.title or connector.system, current_config.since, None, already=True)
    if not rt.has_role("inventory"):
        raise ConfigError(f"connection {name!r} has no inventory system to read invoices from",
                          fix=f"connect Unleashed first: `tillbridge connect unleashed -c {name}`")
    connector = provider_of(app, name)
    if not app.store.credentials(rt.id, connector.system):
        raise ConfigError(f"{connector.title} is not connected for {name!r}",
                          fix=f"run `tillbridge connect {connector.system} -c {name}` first")
    connector.check()
    report = None
    if not force:
        report = doctor(app, name)
        if report.risky:
            raise DoublePostingRisk(report.warning(),
                                    fix=f"turn off the other app's posting (Lightspeed: Setup → Add-ons → "
                                        f"{connector.title}), or enable anyway with --force")
    moment = now or datetime.now(timezone.utc)
    _move_cursor_to(app, rt, moment)
    app.set_settings(rt.connection, {SINCE: moment.isoformat(), SWITCH: True})
    return EnableResult(connector.title or connector.system, moment, report)


def _move_cursor_to(app: App, rt: ConnectionRuntime, moment: datetime) -> None:
    """Start the invoice feed at ``moment`` (the source turns the date into its own cursor)."""
    source = rt.connector("inventory")
    cursor = None
    since: datetime | None = moment
    while True:
        page = source.fetch("invoice", cursor, since=since)
        since, cursor = None, page.cursor
        if not page.more:
            break
    with app.store.session() as s:
        app.store.set_cursor(s, rt.id, FLOW_NAME, cursor)
        s.commit()


def disable(app: App, name: str) -> None:
    """Stop sending at once: the sender reads the switch before every provider write."""
    conn = app.store.connection(name)
    app.set_settings(conn, {SWITCH: False})


def send_since(app: App, name: str, since: datetime) -> RunResult:
    """Send every invoice dated from ``since`` that the provider does not have yet."""
    rt = _runtime(app, name)
    if not load(_settings_state(app, rt)).enabled:
        raise ConfigError("accounting invoices are switched off for this connection",
                          fix=f"enable them first: `tillbridge accounting enable -c {name}`")
    app.set_settings(rt.connection, {SINCE: since.isoformat()})
    rt = _runtime(app, name)
    provider_of(app, name)
    return FlowRunner(app, rt).run(app.flows()[FLOW_NAME], since=since, trigger="accounting send")


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


def status(app: App, name: str, *, live: bool = True) -> Status:
    rt = _runtime(app, name)
    config = load(_settings_state(app, rt))
    if not rt.has_role("accounting"):
        return Status(config.enabled, None, config.since, {}, 0, None)
    connector = provider_of(app, name)
    counts = InvoiceOutbox(require_link(connector.context), connector.system).counts()
    failures = len(app.store.log_entries(rt.id, flow=FLOW_NAME, open_only=True, limit=10_000))
    seen: Budget | None = None
    if live:
        try:
            seen = connector.refresh_budget()
        except TillbridgeError:
            seen = None
    if seen is None or seen.seen_at is None:
        seen = budget_store.recall(require_link(connector.context)) or connector.budget()
    else:
        budget_store.remember(require_link(connector.context), seen)
    run = app.store.last_runs(rt.id).get(FLOW_NAME)
    last = f"{run.status} at {run.started_at:%Y-%m-%d %H:%M} UTC" if run else None
    return Status(config.enabled, connector.describe(), config.since, counts, failures, seen, last)


# --- mappings ----------------------------------------------------------------------------------
def map_account(app: App, name: str, key: str, code: str | None, *, check: bool = True) -> dict[str, str]:
    """``key``: ``default``, a product code, or ``tax:CODE``; ``code`` None removes the mapping."""
    rt = _runtime(app, name)
    if code is not None and check:
        provider_of(app, name).check_account(code)
    config = load(_settings_state(app, rt))
    if key == "default":
        app.set_settings(rt.connection, {SALES_ACCOUNT: code})
        mapping = dict(config.account_map)
        mapping.pop("default", None)
        app.set_settings(rt.connection, {ACCOUNT_MAP: mapping})
        return {"default": code or ""}
    mapping = dict(config.account_map)
    if code is None:
        mapping.pop(key, None)
    else:
        mapping[key] = code
    app.set_settings(rt.connection, {ACCOUNT_MAP: mapping})
    return mapping


def map_tax(app: App, name: str, inventory_code: str, provider_code: str | None, *,
            check: bool = True) -> dict[str, str]:
    rt = _runtime(app, name)
    if provider_code is not None and check:
        provider_of(app, name).check_tax(provider_code)
    mapping = dict(load(_settings_state(app, rt)).tax_map)
    if provider_code is None:
        mapping.pop(inventory_code, None)
    else:
        mapping[inventory_code] = provider_code
    app.set_settings(rt.connection, {TAX_MAP: mapping})
    return mapping

"""What a connector is: the one class a plugin author writes for a remote system.

A connector declares its system name, the roles it can play in a connection (``pos``,
``inventory``, ``accounting``), its credential fields (secrets flagged), and implements
``fetch`` / ``push`` for the entity types it supports. The framework owns everything else:
the configured HTTP client, retries, pacing, cursors, bindings, the connection log.
"""

from __future__ import annotations

import json as jsonlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Mapping, Sequence

import httpx

from .entities import Entity, Location
from .http import AppRateLimit, RateLimitHeaders, check_response, describe_transport_error
from .errors import TillbridgeError, Unsupported

if TYPE_CHECKING:
    from .state import ConnectionState

#: Namespace of deterministic target ids: uuid5(NAMESPACE, "connection/system/type/source id").
ID_NAMESPACE = uuid.UUID("6f1c2f8e-1d64-4c43-9a55-6d3f3c6b2a10")

ROLES = ("pos", "inventory", "accounting")
#: How a message names a role's system when the connection has none in it.
ROLE_WORDS = {"pos": "the point of sale", "inventory": "the inventory system", "accounting": "the accounting system"}


@dataclass(frozen=True)
class CredentialField:
    """One credential a connector needs. ``secret`` values are encrypted and never shown."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    help: str = ""


@dataclass(frozen=True)
class Page:
    """One page of fetched records.

    :param records: canonical entities, in the order the source returned them.
    :param cursor: where to resume after this page (stored only once the page is committed).
    :param more: ``False`` when the source has nothing after this page.
    """

    records: Sequence[Entity]
    cursor: str | None
    more: bool


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A record on its way to a target.

    :param entity: the record, references already rewritten to the target's ids.
    :param target_id: the id to write under: a bound id, or a deterministic one for a new record.
    :param exists: ``True`` when a binding says the target already holds this record.
    :param source_key: the record's key in its source (for the connection log).
    :param source_system: the system the record came from (``"lightspeed"``, ``"csv"``...).
    :param update_fields: on an existing record, only these fields may be overwritten
        (``None``: all). Set when the other system is master for some details.
    :param target_key: the record's key in the target as last seen, when the target is where
        the record began (e.g. an Unleashed product code that Lightspeed stores without its
        spaces); ``None`` when unknown. Lets a connector keep the target's spelling without a read.
    :param resend: the record is sent although it looks unchanged since the last write (an
        import since a date, a re-import): the target may have been edited by hand meanwhile.
        A connector that compares before writing should do so for these, and answer
        ``unchanged`` where the target already holds the record.
    """

    entity: Entity
    target_id: str
    exists: bool
    source_key: str
    source_id: str
    update_fields: frozenset[str] | None = None
    source_system: str = ""
    target_key: str | None = None
    resend: bool = False


@dataclass(frozen=True, slots=True)
class PushResult:
    """What happened to one outgoing record.

    ``status``: ``created``, ``updated``, ``unchanged`` or ``failed``. A failed result carries
    ``error`` (a :class:`~tillbridge.errors.RecordRejected`). ``note`` is for the log (e.g.
    "order parked: stock short").

    ``stored`` is the record as the target now holds it, in the canonical form this connector's
    ``fetch`` would return it (typically the response body, converted), when the target may
    store it differently from what was sent: a name split into first and last names, a code
    without its spaces. The flow in the other direction then recognises the record as our own
    write when it reads it back, and does not send it back (echo). ``None``: the target holds
    what was sent.
    """

    source_id: str
    status: str
    target_id: str | None = None
    error: Exception | None = None
    note: str | None = None
    stored: Entity | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass(frozen=True)
class DatedRecord:
    """One record of a trading day as a system holds it, for the daily reconciliation
    (``fetch_dated``). Vendor-neutral: a POS sale, an inventory sales order or an accounting
    invoice, each tied to the POS sale it stands for.

    :param id: the record's id in its system.
    :param number: the record's own number as the retailer sees it (sale, order or invoice number).
    :param sale_number: the POS sale number the record stands for (a sale: its own number).
    :param total: the total including tax, to the cent as the system rounds it.
    :param status: a sale: ``closed``, ``voided``, ``return`` or ``open``; an order: ``completed``,
        ``parked`` or the system's own word (lower case); an invoice: ``sent`` when the provider
        holds it, else what keeps it back (``failed``, ``pending``, ``deferred``, ``missing``).
    :param location_id: the system's location of the record (outlet, warehouse); ``None``: none.
    :param when: the record's date (UTC), when known.
    :param note: why the record is in that status (a refusal's message), for the retailer.
    """

    id: str
    number: str
    sale_number: str
    total: Decimal
    status: str
    location_id: str | None = None
    when: datetime | None = None
    note: str | None = None


@dataclass
class ConnectorContext:
    """Everything the framework hands a connector instance.

    :param connection: the connection's name.
    :param base_url: the remote API's base URL (configurable: emulators, regional endpoints).
    :param credentials: decrypted credential values (never log them).
    :param save_credentials: persist changed credentials (e.g. rotated OAuth tokens).
    :param settings: the connection's settings (read-only view).
    :param http: the configured ``httpx.Client`` (timeouts, retries, pacing, redaction).
    :param page_size: the page size the runner wants (``None``: the connector's largest).
    :param mapped_locations: ids of this system's locations that are mapped (outlets or
        warehouses), so a connector can skip polling locations nobody syncs.
    :param state: the connection's durable state under this system's name (values, locks, an
        exactly-once outbox; see :class:`~tillbridge.ConnectionState`). ``None`` when the
        context is built for a bare credentials check.
    :param peers: role → the name people call the connection's system in that role
        (``{"pos": "Lightspeed", "inventory": "Unleashed"}``); read it through :meth:`peer_name`.
    """

    connection: str
    system: str
    base_url: str
    credentials: dict[str, Any]
    save_credentials: Callable[[dict[str, Any]], None]
    settings: Mapping[str, Any]
    http: httpx.Client
    page_size: int | None = None
    mapped_locations: Callable[[], set[str]] = field(default=lambda: set())
    extras: dict[str, Any] = field(default_factory=dict)
    state: ConnectionState | None = None
    peers: Mapping[str, str] = field(default_factory=dict)

    def peer_name(self, role: str) -> str:
        """The name of the connection's system in ``role``, for a message that sends the user
        there (``f"change the code in {context.peer_name('inventory')}"``), so a connector never
        names its peer literally; a role nobody fills reads "the inventory system"."""
        return self.peers.get(role) or ROLE_WORDS.get(role, f"the {role} system")

    def deterministic_id(self, entity_type: str, source_system: str, source_id: str) -> str:
        """The id a new record gets in a target that lets callers choose ids (Unleashed Guids).

        Derived from the connection, the source and the record, so a retry after a crash writes
        the same record again instead of a duplicate.
        """
        name = f"{self.connection}/{source_system}/{entity_type}/{source_id}"
        return str(uuid.uuid5(ID_NAMESPACE, name))


class Connector:
    """Base class of connectors. Subclass, set the class attributes, implement what you support.

    Calls to the remote go through :meth:`request`, which maps failures to the framework's
    errors; a vendor's own error answers (a quota word in a 429 body, a validation report in a
    400) are read by overriding :meth:`classify`, and an unusual JSON body by :meth:`encode_json`.
    """

    #: Unique system name (``"lightspeed"``); also the credential and binding namespace.
    system: ClassVar[str] = ""
    #: Human name for the CLI and the web console.
    title: ClassVar[str] = ""
    #: Which roles of a connection this system can fill.
    roles: ClassVar[frozenset[str]] = frozenset()
    #: Entity types ``fetch`` and ``push`` support.
    reads: ClassVar[frozenset[str]] = frozenset()
    writes: ClassVar[frozenset[str]] = frozenset()
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()
    #: May a person type these credentials into the console? ``False`` for systems connected only
    #: through the browser install (OAuth tokens and tenant ids are never typed by a person).
    manual_credentials: ClassVar[bool] = True
    #: The name people call the system by, for buttons ("Lightspeed"); default: ``title``.
    short_title: ClassVar[str | None] = None
    #: How :meth:`request`'s error messages name the system ("QuickBooks"); default: ``short_title``,
    #: else ``title``.
    message_name: ClassVar[str | None] = None
    default_base_url: ClassVar[str] = ""
    #: Largest page the remote allows; the runner asks for this much.
    max_page_size: ClassVar[int] = 200
    #: Records per ``push`` call (an API that takes batches says how big).
    push_batch_size: ClassVar[int] = 50
    #: Most ``push`` calls the runner makes at once for one page (1: one at a time, the default,
    #: so a connector that keeps state between writes needs no locks). Above 1, ``push`` must be
    #: thread-safe: batches of different lanes (``push_lane``) go out side by side.
    push_concurrency: int = 1
    #: Response headers that carry the remote's rate-limit budget (the framework paces on them).
    rate_limit_headers: ClassVar[RateLimitHeaders | None] = None
    #: Most requests in flight at once against one account (Xero allows 5).
    max_concurrency: ClassVar[int | None] = None
    #: Limits of the vendor that span every connection of the app (all tenants); shared by
    #: every worker in distributed mode (see :class:`~tillbridge.http.AppRateLimit`).
    app_rate_limits: ClassVar[tuple[AppRateLimit, ...]] = ()
    #: Headers sent with every request.
    default_headers: ClassVar[dict[str, str]] = {}
    #: Name of the emulator (``register_emulators``) that stands in for this system, if any.
    emulator: ClassVar[str | None] = None

    @classmethod
    def emulator_credentials(cls, emulator: Any, base_url: str) -> dict[str, Any]:
        """Credentials for talking to a running emulator of this system (demo, tests)."""
        offered = emulator.credentials(base_url)
        names = {f.name for f in cls.credential_fields}
        return {k: v for k, v in offered.items() if k in names}

    @classmethod
    def make_auth(
        cls, credentials: dict[str, Any], save_credentials: Callable[[dict[str, Any]], None]
    ) -> httpx.Auth | None:
        """The ``httpx.Auth`` that signs requests (Bearer with refresh, HMAC...); ``None`` for none."""
        return None

    # "Install app" in a browser (OAuth 2.0 authorization code). The console owns the redirect and
    # the state check; only the vendor-specific URLs and token exchange live in the connector.
    @classmethod
    def oauth_authorize_url(cls, base_url: str, *, client_id: str, redirect_uri: str, state: str) -> str | None:
        """The page where the user approves the app; ``None``: this system has no browser install."""
        return None

    @classmethod
    def oauth_exchange(cls, base_url: str, callback: Mapping[str, str], *, client_id: str, client_secret: str,
                       redirect_uri: str) -> tuple[str, dict[str, Any]] | None:
        """Trade the callback's ``code`` for credentials: ``(API base URL to use, credentials)``."""
        return None

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context
        self.http = context.http

    # --- HTTP ---------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, what: str = "", json: Any = None,
                accept: Callable[[httpx.Response], bool] | None = None, **kwargs: Any) -> httpx.Response:
        """Send one request through ``context.http`` and return its answer, or raise the
        framework's error for it, so every connector reports failures alike.

        :param what: what the call does ("updating a product"), for messages.
        :param json: a body, encoded by :meth:`encode_json` and sent as ``application/json``.
        :param accept: says which error answers the caller reads itself (a validation report it
            takes apart): those come back as they are, once :meth:`classify` found no error.
        :param kwargs: the rest of ``httpx.Client.request`` (``params``, ``headers``, ``extensions``).

        A transport failure raises :class:`~tillbridge.errors.TransientError` ("cannot reach...").
        Every answer then goes to :meth:`classify`; an error it returns is raised. Otherwise
        :func:`~tillbridge.http.check_response` decides: 401/403 ``AuthError``, 429 ``RateLimited``,
        5xx ``TransientError``, another 4xx ``RemoteError`` (with ``status``); below 400 the answer.
        """
        if json is not None:
            kwargs["content"] = self.encode_json(json)
            kwargs["headers"] = {"Content-Type": "application/json", **(kwargs.get("headers") or {})}
        name = self.message_name or self.short_title or self.title or self.system
        try:
            response = self.context.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise describe_transport_error(exc, name, self.context.base_url) from None
        error = self.classify(response, what=what)
        if error is not None:
            raise error
        if accept is not None and accept(response):
            return response
        return check_response(response, name, what=what)

    def classify(self, response: httpx.Response, *, what: str = "") -> TillbridgeError | None:
        """The vendor's own reading of an answer (every answer, successful or not): the error to
        raise, or ``None`` to leave it to the common mapping (``check_response``).

        Override for what only this vendor says: a monthly quota in a 429 body
        (``QuotaExhausted``, not a short wait), a fault inside an HTTP 200, a validation report
        worth quoting. It may also note what every answer carries (a budget header).
        """
        return None

    def encode_json(self, body: Any) -> str | bytes:
        """The wire form of a ``json=`` body; override for values ``json.dumps`` cannot take
        (``Decimal`` money as exact numbers, dates in the vendor's format)."""
        return jsonlib.dumps(body)

    # --- reads --------------------------------------------------------------------------------
    def check(self) -> str:
        """Verify the credentials with one cheap call; return a one-line description.

        Raises :class:`~tillbridge.errors.AuthError` or :class:`~tillbridge.errors.ConfigError`.
        """
        raise Unsupported(f"{self.system} cannot check credentials")

    def fetch(self, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
        """Return the next page of ``entity_type`` changed after ``cursor`` (``None``: from the start).

        ``since`` restarts the feed from a date (re-imports); the connector turns it into a cursor.
        """
        raise Unsupported(f"{self.system} cannot read {entity_type}")

    def get(self, entity_type: str, record_id: str) -> Entity | None:
        """Fetch one record by id (re-imports of a single failed record)."""
        raise Unsupported(f"{self.system} cannot read one {entity_type}")

    def time_zone(self) -> str | None:
        """The IANA time zone the retailer trades in (``Pacific/Auckland``), if this system
        knows it; ``None`` otherwise. The daily reconciliation uses the POS's answer when the
        ``time_zone`` setting is empty."""
        return None

    def locations(self) -> list[Location]:
        """Outlets or warehouses of this system (for the location map)."""
        page = self.fetch("location", None)
        return [r for r in page.records if isinstance(r, Location)]

    # --- writes -------------------------------------------------------------------------------
    def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        """Write records; return one result per record, failures as ``PushResult(status="failed")``.

        Must be idempotent: writing the same ``Outgoing`` twice leaves one record in the target.
        """
        raise Unsupported(f"{self.system} cannot write {entity_type}")

    def push_lane(self, entity_type: str, outgoing: Outgoing) -> str | Iterable[str] | None:
        """What a write must stay in order with when ``push_concurrency`` > 1: its lane, or its
        lanes. A write waits for the page's earlier writes that share one of its lanes and goes
        side by side with the rest (e.g. a sales order lanes by ``warehouse:product`` for each
        product it takes, so orders that take the same stock keep the POS's order);
        ``None``: independent of every other record (the default)."""
        return None

    def read_ahead(self, entity_type: str) -> bool:
        """May the runner read the next page of ``entity_type`` while the current one is planned
        and written (default ``False``)? Say ``True`` when the next page's read depends only on
        the cursor it is given, not on what the runner wrote for the page before, and ``fetch``
        is thread-safe against the other calls the runner makes meanwhile (``push`` of the
        target, ``get``/``lookup`` of this connector). It hides a round trip per page; a page read
        ahead and not used (the daemon stopping, an error) is dropped."""
        return False

    def push_gather(self, entity_type: str) -> int:
        """Records to gather from several pages before pushing them in one go (default 0: each
        page is pushed as it comes). For a target whose bulk write costs the same calls for more
        records (an inventory count: a few calls per outlet, whatever it counts). The runner
        pushes once the planned writes reach this many, then commits each page in order; keep it
        below ``push_batch_limit`` by a page so the gathered writes stay one batch."""
        return 0

    def push_batch_limit(self, entity_type: str) -> int:
        """Records per ``push`` call for ``entity_type`` (default ``push_batch_size``). A connector
        that writes one record per request can answer less, so that more batches go side by side."""
        return self.push_batch_size

    def close(self) -> None:
        """Release resources (the framework closes the HTTP client itself)."""


__all__ = [
    "ID_NAMESPACE",
    "ROLES",
    "Connector",
    "ConnectorContext",
    "CredentialField",
    "DatedRecord",
    "Outgoing",
    "Page",
    "PushResult",
]

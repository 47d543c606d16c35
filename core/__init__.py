"""tillbridge: a plugin-based integration framework for retail systems.

Everything a plugin author needs is importable from here, plus two public modules:
``tillbridge.emulation`` (helpers to write an emulator of a remote API) and
``tillbridge.testing`` (the pytest plugin, the connector conformance suite, test harnesses).
Everything else — other modules, and names not listed in an ``__all__`` of these three — is
private and may change without notice. ``docs/plugins.md`` is the reference.
"""

from __future__ import annotations

from .connector import (
    ID_NAMESPACE,
    ROLES,
    Connector,
    ConnectorContext,
    CredentialField,
    DatedRecord,
    Outgoing,
    Page,
    PushResult,
)
from .cursors import JsonCursor, version_cursor
from .daemon.handlers import (
    Subscription,
    WebhookEvent,
    WebhookHandler,
    WebhookRejected,
    WebhookRequest,
    WebhookUnverifiable,
    body_digest,
    hmac_sha256,
    signature_matches,
)
from .entities import (
    ENTITY_TYPES,
    BomLine,
    Customer,
    Entity,
    Invoice,
    InvoiceLine,
    Location,
    Product,
    ReferenceMapper,
    Sale,
    SaleLine,
    SaleStatus,
    SalesGroup,
    StockLevel,
    SubRecord,
    Tax,
    utc,
)
from .errors import (
    AuthError,
    ConfigError,
    CredentialsUnreadable,
    QuotaExhausted,
    RateLimited,
    RecordHeld,
    RecordRejected,
    RemoteError,
    SettingError,
    StorageError,
    TillbridgeError,
    TransientError,
    UnknownConnection,
    Unsupported,
    command,
)
from .events import SyncEvent
from .flows import Flow, Preparation, PrepareContext, admit_sale, line_quantities
from .hookspecs import hookimpl, hookspec
from .http import AppRateLimit, RateLimitHeaders, check_response, describe_transport_error, parse_retry_after
from .settings import SettingSpec
from .state import ConnectionState, Outbox, OutboxEntry

__version__ = "0.1.0"

__all__ = [
    "ENTITY_TYPES",
    "ID_NAMESPACE",
    "ROLES",
    "AppRateLimit",
    "AuthError",
    "BomLine",
    "ConfigError",
    "ConnectionState",
    "Connector",
    "ConnectorContext",
    "CredentialField",
    "CredentialsUnreadable",
    "Customer",
    "DatedRecord",
    "Entity",
    "Flow",
    "Invoice",
    "InvoiceLine",
    "JsonCursor",
    "Location",
    "Outbox",
    "OutboxEntry",
    "Outgoing",
    "Page",
    "Preparation",
    "PrepareContext",
    "Product",
    "PushResult",
    "QuotaExhausted",
    "RateLimitHeaders",
    "RateLimited",
    "RecordHeld",
    "RecordRejected",
    "ReferenceMapper",
    "RemoteError",
    "Sale",
    "SaleLine",
    "SaleStatus",
    "SalesGroup",
    "SettingError",
    "SettingSpec",
    "StockLevel",
    "StorageError",
    "SubRecord",
    "Subscription",
    "SyncEvent",
    "Tax",
    "TillbridgeError",
    "TransientError",
    "UnknownConnection",
    "Unsupported",
    "WebhookEvent",
    "WebhookHandler",
    "WebhookRejected",
    "WebhookRequest",
    "WebhookUnverifiable",
    "admit_sale",
    "body_digest",
    "check_response",
    "command",
    "describe_transport_error",
    "hmac_sha256",
    "hookimpl",
    "hookspec",
    "line_quantities",
    "parse_retry_after",
    "signature_matches",
    "utc",
    "version_cursor",
]

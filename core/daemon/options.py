"""The daemon's knobs (``tillbridge run`` options), with the defaults an operator gets."""

from __future__ import annotations

from dataclasses import dataclass

#: Polling interval (seconds) of flows whose ``interval_setting`` is unset and that declare no
#: ``interval`` of their own, when they write to an accounting system (e.g. the accounting plugin's invoices).
ACCOUNTING_INTERVAL = 300.0
#: Any other plugin flow without an interval setting.
FALLBACK_INTERVAL = 300.0


@dataclass(frozen=True)
class DaemonOptions:
    """
    :param listen_host, listen_port: the HTTP listener (webhooks, /healthz, /metrics).
    :param webhooks: serve the webhook routes (off: polling only; health and metrics stay).
    :param connections: only these connections (empty: all, including ones added later).
    :param reconcile_seconds: how often the job list is compared with the database.
    :param max_backoff: longest pause of a flow that keeps failing (never below its interval).
    :param debounce: a webhook runs its flow this many seconds later; more webhooks meanwhile
        ride along.
    :param shutdown_timeout: how long SIGTERM waits for runs to finish their page.
    :param held_retry_seconds: how often records held for a missing dependency are retried
        (also right after another flow of the connection wrote something).
    :param retention_seconds: how often the log, run history and webhook receipts are pruned.
    :param webhook_max_age: refuse signed webhook timestamps further than this from our clock
        (``None``: do not check; the de-duplication table still stops replays).
    :param allow_unsigned_webhooks: accept deliveries the connection cannot verify (no key).
    """

    listen_host: str = "127.0.0.1"
    listen_port: int = 8480
    webhooks: bool = True
    connections: tuple[str, ...] = ()
    reconcile_seconds: float = 5.0
    max_backoff: float = 900.0
    debounce: float = 1.0
    shutdown_timeout: float = 8.0
    held_retry_seconds: float = 300.0
    retention_seconds: float = 3600.0
    webhook_max_age: float | None = 300.0
    allow_unsigned_webhooks: bool = False
    #: Keep webhook receipts this long: the vendors retry for up to 48 h (Lightspeed) / 72 h.
    webhook_receipt_days: int = 4

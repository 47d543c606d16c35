"""Exactly-once sending of invoices to a provider, behind ``AccountingConnector.push``.

The runner hands over a batch of inventory invoices (already fetched, fingerprint-checked and
not yet bound to a provider invoice). For each one, in this order:

1. the switch and the "send from" moment are read **fresh from the database**: off means
   nothing is sent, even mid-run; invoices dated before enabling are passed over silently;
2. the outbox row is made (or found): ``sent`` already → bound without a call (the process died
   after the provider answered, before the runner committed);
3. rows *in doubt* (an attempt without a recorded outcome) are looked up at the provider by
   invoice number; found → bound, never sent twice;
4. the rest go in provider batches (Xero: 50), each attempt committed first with its own
   idempotency key; per-invoice refusals are logged with the provider's words and a fix while
   the others are recorded as sent; a "number already used" refusal is resolved by a look-up;
5. when the daily budget is spent, the remaining rows are marked deferred and the flow is
   deferred (``QuotaExhausted``), which the runner records as status "deferred" with a log line.
"""

from __future__ import annotations

import contextlib

import logging
from typing import TYPE_CHECKING, Sequence

from tillbridge import (
    ConfigError,
    ConnectionState,
    Invoice,
    Outgoing,
    PushResult,
    QuotaExhausted,
    RateLimited,
    RecordRejected,
)

from . import budget as budget_store
from .config import AccountingConfig, load
from .drafts import build_draft
from .outbox import InvoiceOutbox
from .provider import DraftInvoice, Outcome, RemoteInvoice

if TYPE_CHECKING:
    from .provider import AccountingConnector

log = logging.getLogger("tillbridge.accounting")

SENDABLE_STATUSES = {"completed"}


class AccountingDisabled(ConfigError):
    """The ``accounting_invoice`` switch is off: nothing may be sent."""


class InvoiceSender:
    def __init__(self, provider: AccountingConnector, state: ConnectionState) -> None:
        self.provider = provider
        self.state = state
        self.outbox = InvoiceOutbox(state, provider.system)
        self.title = provider.title or provider.system

    # --- entry point ---------------------------------------------------------------------------
    def push(self, records: Sequence[Outgoing]) -> list[PushResult]:
        results: dict[str, PushResult] = {}
        try:
            self._push(records, results)
        finally:
            budget_store.remember(self.state, self.provider.budget())
        return [results[o.source_id] for o in records]

    def _push(self, records: Sequence[Outgoing], results: dict[str, PushResult]) -> None:
        config = self._config_or_stop()
        drafts: dict[str, DraftInvoice] = {}
        for o in records:
            invoice = o.entity
            if not isinstance(invoice, Invoice):
                results[o.source_id] = _failed(o.source_id, RecordRejected(
                    f"{self.title} takes invoices, not {invoice.entity_type}", key=o.source_key))
            elif config.since is not None and invoice.invoice_date < config.since:
                results[o.source_id] = PushResult(o.source_id, "unchanged")  # made before enabling
            elif invoice.status.lower() not in SENDABLE_STATUSES:
                results[o.source_id] = PushResult(o.source_id, "unchanged")
            elif o.exists:
                results[o.source_id] = PushResult(
                    o.source_id, "unchanged", target_id=o.target_id,
                    note=f"invoice {invoice.number} changed in the inventory system after it was sent to "
                         f"{self.title}; it is not sent again — change it in {self.title} by hand if needed")
            else:
                try:
                    drafts[o.source_id] = build_draft(invoice, config)
                except RecordRejected as exc:
                    results[o.source_id] = _failed(o.source_id, exc)
        entries = self.outbox.prepare(list(drafts.values()))
        for source_id, entry in entries.items():
            if entry.status == "sent" and entry.target_id:
                results[source_id] = PushResult(source_id, "created", target_id=entry.target_id)
                drafts.pop(source_id, None)
        doubtful = [d for sid, d in drafts.items() if entries[sid].in_doubt]
        if doubtful:
            self._defer_if_spent(list(drafts))
            found = self.provider.find_invoices([d.number for d in doubtful])
            for draft in doubtful:
                remote = found.get(draft.number)
                if remote is not None:
                    self._bind(draft, remote, results, how="found after an interrupted send")
                    drafts.pop(draft.source_id)
        if drafts:
            self._send(list(drafts.values()), results)

    def _config_or_stop(self) -> AccountingConfig:
        config = load(self.state)
        if not config.enabled:
            raise AccountingDisabled(
                f"accounting invoices are switched off for this connection: nothing was sent to {self.title}",
                fix="turn them on with `tillbridge accounting enable`")
        return config

    # --- sending -------------------------------------------------------------------------------
    def _send(self, drafts: list[DraftInvoice], results: dict[str, PushResult]) -> None:
        # batches side by side: one creates a shared contact (a provider whose own __init__ skipped
        # the base class's has no lock, and then pushes one batch at a time anyway)
        with getattr(self.provider, "contacts_lock", None) or contextlib.nullcontext():
            contacts = self.provider.resolve_contacts(list({d.contact.code: d.contact for d in drafts}.values()))
        ready: list[DraftInvoice] = []
        for draft in drafts:
            contact = contacts.get(draft.contact.code)
            if isinstance(contact, str):
                ready.append(draft)
                continue
            error = contact or RecordRejected(f"no {self.title} contact for customer {draft.contact.code}")
            error.key = draft.number
            self.outbox.mark_failed(draft.source_id, error.message)
            results[draft.source_id] = _failed(draft.source_id, error)
        size = max(1, self.provider.invoice_batch_size)
        for start in range(0, len(ready), size):
            batch = ready[start:start + size]
            waiting = [d.source_id for d in ready[start:]]
            self._defer_if_spent(waiting)
            self._config_or_stop()  # switched off meanwhile: stop before the next write
            keys = self.outbox.begin_attempt([d.source_id for d in batch])
            try:
                outcomes = self.provider.create_invoices(
                    batch, {k: v for k, v in contacts.items() if isinstance(v, str)},
                    [keys[d.source_id] for d in batch])
            except (QuotaExhausted, RateLimited) as exc:
                # Refused before processing; the rows stay attempted, so they are looked up first.
                self.outbox.mark_deferred(waiting, str(exc))
                raise
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{self.provider.system} answered {len(outcomes)} outcomes for {len(batch)} invoices")
            for draft, outcome in zip(batch, outcomes):
                self._record(draft, outcome, results)

    def _record(self, draft: DraftInvoice, outcome: Outcome, results: dict[str, PushResult]) -> None:
        if outcome.status == "sent" and outcome.remote is not None:
            self._bind(draft, outcome.remote, results)
            return
        if outcome.status == "duplicate":
            # The provider's own uniqueness of invoice numbers caught a second send: bind to it.
            remote = self.provider.find_invoices([draft.number]).get(draft.number)
            if remote is not None:
                self._bind(draft, remote, results, how="the number was already taken there")
                return
        message = "; ".join(outcome.messages) or "refused without a reason"
        error = RecordRejected(f"{self.title} refused invoice {draft.number}: {message}", key=draft.number,
                               fix=outcome.fix or f"correct it (see the message), then `tillbridge reimport --record "
                                                  f"{draft.number}`")
        self.outbox.mark_failed(draft.source_id, error.message)
        results[draft.source_id] = _failed(draft.source_id, error)

    def _bind(self, draft: DraftInvoice, remote: RemoteInvoice, results: dict[str, PushResult],
              how: str | None = None) -> None:
        self.outbox.mark_sent(draft.source_id, remote.id)
        notes = []
        if how:
            log.info("%s: invoice %s bound to %s %s (%s)", self.state.connection_id, draft.number, self.title,
                     remote.id, how)
            notes.append(f"invoice {draft.number} was already in {self.title} ({how}); bound to it, not sent again")
        if remote.total is not None and remote.total != draft.total:
            notes.append(f"{self.title} totals invoice {draft.number} at {remote.total}, the inventory system at "
                         f"{draft.total}: check the tax and account mappings")
        results[draft.source_id] = PushResult(draft.source_id, "created", target_id=remote.id,
                                              note="; ".join(notes) or None)

    def _defer_if_spent(self, source_ids: list[str]) -> None:
        if not self.provider.day_budget_spent():
            return
        seen = self.provider.budget()
        message = (f"{self.title}'s daily API limit is used up ({seen.day_remaining} calls left, "
                   f"{self.provider.day_reserve} kept in reserve): {len(source_ids)} invoice(s) wait for the reset")
        self.outbox.mark_deferred(source_ids, message)
        log.warning("%s: %s", self.state.connection_id, message)
        raise QuotaExhausted(message, status=429,
                             fix="nothing to do: they are sent by the next run after the limit resets; "
                                 "`tillbridge accounting status` shows the budget")


def _failed(source_id: str, error: RecordRejected) -> PushResult:
    return PushResult(source_id, "failed", error=error)

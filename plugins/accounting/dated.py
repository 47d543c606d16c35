"""The accounting plugin's part of the daily reconciliation (hook ``fetch_dated``).

An invoice is dated when its order completed, not when the sale was rung up, so the day's
invoices are found by sale number in our own outbox (its payload keeps the POS sale number as
``reference``); the invoices it says were sent are then looked up at the provider by number
(``find_invoices``: one request per 40 numbers at Xero, 30 at QuickBooks), never by listing the
provider's books.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Sequence

from tillbridge import DatedRecord

from .outbox import InvoiceOutbox
from .provider import AccountingConnector
from .store_link import require_link

#: Outbox rows are made when the invoice flow reads an invoice: never before the sale's day.
EARLIEST = timedelta(days=1)
GONE = {"VOIDED", "DELETED"}


def invoices_of_day(connector: AccountingConnector, start: datetime, references: Sequence[str]) -> list[DatedRecord]:
    """One record per outbox row of the day's sales: ``sent`` when the provider holds it,
    ``missing`` when it says sent but the provider has it no more, else the row's status."""
    wanted = set(references)
    outbox = InvoiceOutbox(require_link(connector.context), connector.system)
    mine = []
    for row in outbox.box.entries(created_since=start - EARLIEST).values():
        payload = row.payload
        if str(payload.get("reference") or "") in wanted:
            mine.append((row, payload))
    sent_numbers = [p["number"] for r, p in mine if r.status == "sent"]
    remote = connector.find_invoices(sent_numbers) if sent_numbers else {}
    out = []
    for row, payload in mine:
        number, status, note = str(payload["number"]), row.status, row.last_error
        total = Decimal(str(payload.get("total") or 0))
        if status == "sent":
            found = remote.get(number)
            if found is None or (found.status or "").upper() in GONE:
                status, note = "missing", None
            elif found.total is not None:
                total = found.total
        out.append(DatedRecord(id=row.target_id or row.record_key, number=number,
                               sale_number=str(payload["reference"]), total=total, status=status, note=note,
                               when=row.sent_at))
    return out

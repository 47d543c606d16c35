"""An inventory sales invoice → a provider-neutral :class:`DraftInvoice` whose lines add up,
to the cent, to the invoice's own totals.

The inventory system's line totals and taxes are taken as booked (never recomputed): the
provider must end with the same SubTotal, tax and Total. Two safeguards make the draft
self-consistent before any provider sees it:

* when the lines do not add up to the invoice's SubTotal (an inventory system that rounds the
  invoice, not the lines), a "Rounding" line with no tax carries the difference;
* when line taxes do not add up to the invoice's tax total, the difference goes onto the
  largest line's tax (the way the POS → inventory side already puts rounding on one line).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Mapping, Sequence

from tillbridge import Invoice, RecordRejected

from .config import AccountingConfig
from .provider import ContactRef, DraftInvoice, DraftLine

CENT = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
#: Contact used when the inventory invoice names no customer code.
WALK_IN = ContactRef("WALKIN", "Walk-in customer")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def discount_percent(rate: Decimal) -> Decimal:
    """Inventory discount rates are fractions (Unleashed: 0..1, shared/api-notes/unleashed.md);
    providers take percentages. A value above 1 is taken to be a percentage already."""
    return rate * HUNDRED if rate <= 1 else rate


def rate_fits(lines: Sequence[DraftLine], rates: Mapping[str, Decimal]) -> list[str]:
    """Provider tax types whose rate (percent) explains the lines' booked tax, best first.

    The lines of one inventory tax code are taken together; each line's tax was rounded to the
    cent and one of them may carry the sale's rounding cent, so a rate fits when it lands
    within a cent per line (plus one) of the booked tax. Ties come back together, for the
    caller to break (e.g. by the account's default tax type) or to refuse.
    """
    amount = sum((ln.amount for ln in lines), ZERO)
    tax = sum((ln.tax_amount for ln in lines), ZERO)
    tolerance = CENT * (len(lines) + 1)
    scored = sorted((abs(amount * rate / HUNDRED - tax), key) for key, rate in rates.items())
    fitting = [(gap, key) for gap, key in scored if gap <= tolerance]
    if not fitting:
        return []
    best = fitting[0][0]
    return [key for gap, key in fitting if gap == best]


def build_draft(invoice: Invoice, config: AccountingConfig) -> DraftInvoice:
    if not invoice.lines:
        raise RecordRejected(f"invoice {invoice.number} has no lines", key=invoice.number,
                             fix="nothing to post; correct the invoice in the inventory system")
    if cents(invoice.subtotal + invoice.tax_total) != cents(invoice.total):
        raise RecordRejected(
            f"invoice {invoice.number} does not add up: {invoice.subtotal} + {invoice.tax_total} ≠ {invoice.total}",
            key=invoice.number, fix="correct the invoice in the inventory system, then `tillbridge reimport`")
    lines: list[DraftLine] = []
    for line in invoice.lines:
        code = line.product_code
        description = line.description if not code or code in line.description else f"{code} {line.description}"
        lines.append(DraftLine(
            description=description[:4000] or "Item", quantity=line.quantity, unit_price=line.unit_price,
            discount_percent=discount_percent(line.discount_rate), amount=cents(line.line_total),
            tax_amount=cents(line.tax_amount), tax_code=line.tax_code, product_code=code,
            account=config.account_for(code, line.tax_code), tax_type=config.tax_map.get(line.tax_code or ""),
        ))
    gap = cents(invoice.subtotal) - sum((ln.amount for ln in lines), ZERO)
    if gap:
        lines.append(DraftLine(description="Rounding", quantity=Decimal(1), unit_price=gap, discount_percent=ZERO,
                               amount=gap, tax_amount=ZERO, tax_code=None, product_code=None,
                               account=config.account_for(None, None), tax_type=None))
    tax_gap = cents(invoice.tax_total) - sum((ln.tax_amount for ln in lines), ZERO)
    if tax_gap:
        largest = max(range(len(lines)), key=lambda i: abs(lines[i].amount))
        lines[largest] = replace(lines[largest], tax_amount=lines[largest].tax_amount + tax_gap)
    contact = ContactRef(invoice.customer_code, invoice.customer_name or invoice.customer_code) \
        if invoice.customer_code else WALK_IN
    issued = invoice.invoice_date.date()  # UTC calendar date (the entity's timestamps are UTC)
    due = invoice.due_date.date() if invoice.due_date else issued
    return DraftInvoice(
        source_id=invoice.id, number=invoice.number, reference=invoice.reference or invoice.order_number,
        contact=contact, date=issued, due_date=max(due, issued), currency=invoice.currency,
        lines=tuple(lines), subtotal=cents(invoice.subtotal), tax_total=cents(invoice.tax_total),
        total=cents(invoice.total),
    )

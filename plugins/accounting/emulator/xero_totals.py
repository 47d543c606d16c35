"""How Xero fills in line amounts, tax and invoice totals.

Xero computes ``LineAmount`` from quantity, unit amount and discount, ``TaxAmount`` from the
line's tax rate, and ``SubTotal``/``TotalTax``/``Total`` from the lines according to
``LineAmountTypes`` (https://developer.xero.com/documentation/api/accounting/invoices: Exclusive is the default;
Inclusive means line amounts already contain the tax; NoTax means no tax at all). A
``TaxAmount`` sent by the client overrides the computed one (the notes: "auto-computed,
overridable"). Tax is rounded per line, then summed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .money import cents, round_to

LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
ZERO = Decimal("0")
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class Totals:
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal
    total_discount: Decimal


def price_line(line: dict[str, Any], rate: Decimal, line_amount_types: str, unit_dp: int) -> None:
    """Complete one line in place. Money fields must already be Decimal (or None)."""
    quantity: Decimal | None = line.get("Quantity")
    unit: Decimal | None = line.get("UnitAmount")
    amount: Decimal | None = line.get("LineAmount")
    discount_rate: Decimal | None = line.get("DiscountRate")
    discount_amount: Decimal | None = line.get("DiscountAmount")

    if unit is not None:
        unit = round_to(unit, unit_dp)
    if quantity is None:
        quantity = Decimal("1") if (unit is not None or amount is not None) else ZERO
    if unit is None and amount is not None and quantity:
        unit = round_to(amount / quantity, unit_dp)
    gross = cents(quantity * (unit or ZERO))
    discount = ZERO
    if discount_rate:
        discount = cents(gross * discount_rate / HUNDRED)
    elif discount_amount:
        discount = cents(discount_amount)
    if unit is not None:
        amount = gross - discount
    line["Quantity"] = quantity
    line["UnitAmount"] = unit if unit is not None else ZERO
    line["LineAmount"] = cents(amount if amount is not None else ZERO)
    line["_Discount"] = discount

    if line_amount_types == "NoTax":
        line["TaxAmount"] = ZERO
    elif line.get("_TaxAmountGiven"):
        line["TaxAmount"] = cents(line["TaxAmount"])
    elif line_amount_types == "Inclusive":
        line["TaxAmount"] = cents(line["LineAmount"] * rate / (HUNDRED + rate))
    else:
        line["TaxAmount"] = cents(line["LineAmount"] * rate / HUNDRED)


def invoice_totals(lines: list[dict[str, Any]], line_amount_types: str) -> Totals:
    line_sum = sum((line["LineAmount"] for line in lines), ZERO)
    tax = sum((line["TaxAmount"] for line in lines), ZERO)
    discount = sum((line.get("_Discount", ZERO) for line in lines), ZERO)
    sub_total = line_sum - tax if line_amount_types == "Inclusive" else line_sum
    return Totals(cents(sub_total), cents(tax), cents(sub_total + tax), cents(discount))

"""The JSON of a Xero invoice (mixed into :class:`~.xero.XeroConnector`): lines booked so that
Xero's own arithmetic gives the inventory system's totals to the cent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from tillbridge import RecordRejected

from .drafts import cents, rate_fits
from .provider import DraftInvoice, DraftLine, money

#: Xero's demo and default chart of accounts: 200 Sales.
DEFAULT_ACCOUNT = "200"
UNIT_PLACES = Decimal("0.0001")  # unitdp=4


def _number_text(value: Decimal) -> str:
    return format(value.normalize(), "f")



class XeroPayload:
    """Invoice JSON of the Xero connector (tax types chosen from Xero's rates and accounts)."""

    if TYPE_CHECKING:  # provided by the connector this is mixed into
        _tax_choice: dict[str, str]

        def tax_rates(self) -> dict[str, Decimal]: ...
        def accounts(self) -> dict[str, dict[str, Any]]: ...

    def invoice_json(self, draft: DraftInvoice, contact_id: str) -> dict[str, Any]:
        lines = [self._line_json(line, draft) for line in draft.lines]
        invoice: dict[str, Any] = {
            "Type": "ACCREC", "Contact": {"ContactID": contact_id}, "InvoiceNumber": draft.number,
            "Date": draft.date.isoformat(), "DueDate": draft.due_date.isoformat(),
            "LineAmountTypes": "Exclusive", "Status": "AUTHORISED", "CurrencyCode": draft.currency,
            "LineItems": lines,
        }
        if draft.reference:
            invoice["Reference"] = draft.reference
        return invoice

    def _line_json(self, line: DraftLine, draft: DraftInvoice) -> dict[str, Any]:
        account = (line.account or DEFAULT_ACCOUNT).strip()
        quantity, unit, percent = line.quantity, line.unit_price.quantize(UNIT_PLACES, ROUND_HALF_UP), \
            line.discount_percent
        description = line.description
        # Xero computes LineAmount = round(qty × unit) − round(that × discount %); when that cannot
        # give the inventory's own line total (more decimals than unitdp=4), book the total as one
        # unit and say what was sold in the description.
        if quantity <= 0 or _xero_amount(quantity, unit, percent) != line.amount:
            if quantity != 1 or unit != line.amount:
                description = f"{description} ({_number_text(line.quantity)} × {_number_text(line.unit_price)})"
            quantity, unit, percent = Decimal(1), line.amount, Decimal(0)
        item: dict[str, Any] = {
            "Description": description, "Quantity": money(quantity), "UnitAmount": money(unit),
            "AccountCode": account, "TaxType": self._tax_type(line, account, draft),
            # The inventory system's tax, to the cent (Xero's TaxAmount is "auto-computed,
            # overridable", https://developer.xero.com/documentation/api/accounting/invoices LineItem fields):
            # totals then match exactly.
            "TaxAmount": money(line.tax_amount),
        }
        if percent:
            item["DiscountRate"] = money(percent)
        return item

    def _tax_type(self, line: DraftLine, account: str, draft: DraftInvoice) -> str:
        if line.tax_type:
            return line.tax_type
        rates = self.tax_rates()
        if line.tax_code is None:  # a rounding line: no tax
            return "NONE" if "NONE" in rates else next((t for t, r in rates.items() if r == 0), "NONE")
        chosen = self._tax_choice.get(line.tax_code)
        if chosen:
            return chosen
        same = [ln for ln in draft.lines if ln.tax_code == line.tax_code]
        default = str((self.accounts().get(account.upper()) or {}).get("TaxType") or "")
        total = sum((ln.amount for ln in same), Decimal(0))
        if total == 0:
            return default or "NONE"
        best = rate_fits(same, rates)
        choice = default if default in best else (best[0] if len(best) == 1 else None)
        if choice is None:
            share = (sum((ln.tax_amount for ln in same), Decimal(0)) / total * 100).quantize(Decimal("0.01"))
            raise RecordRejected(
                f"cannot tell which Xero tax rate fits inventory tax code {line.tax_code} ({share} %; fitting Xero "
                f"tax rates: {', '.join(best) or 'none'})", key=draft.number,
                fix=f"map it: `tillbridge accounting map-tax {line.tax_code} TAXTYPE` (Xero → Settings → Tax rates), "
                    f"then `tillbridge reimport --record {draft.number}`")
        if abs(total) >= 1:
            self._tax_choice[line.tax_code] = choice  # only a real amount settles the rate for good
        return choice


def _xero_amount(quantity: Decimal, unit: Decimal, percent: Decimal) -> Decimal:
    gross = cents(quantity * unit)
    return gross - cents(gross * percent / 100)

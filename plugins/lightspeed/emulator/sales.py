"""Sales: totals and taxes of the 2.0 ``Sale`` shape, and the stock a sale takes or gives back.

Sale statuses and their stock effect (https://x-series-api.lightspeedhq.com/docs/sales_statuses, docs
``sales_statuses``): CLOSED decrements inventory, ONACCOUNT/LAYBY take stock while pending
(lay-by stock leaves the shelf,
https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction), the
``*_CLOSED`` states keep it taken, VOIDED
"returns items to inventory and deletes payments". SAVED (parked), SERVICE and the
AWAITING_* fulfilment states take nothing until they close.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from .errors import Unprocessable
from .money import ZERO, q5
from .products import ProductOps
from .versioned import Record

#: The 2.0 spec's ``Sale.status`` enum.
SALE_STATUSES = frozenset(
    {
        "SAVED", "CLOSED", "ONACCOUNT", "LAYBY", "ONACCOUNT_CLOSED", "LAYBY_CLOSED",
        "AWAITING_DISPATCH", "AWAITING_PICKUP", "DISPATCHED_CLOSED", "PICKED_UP_CLOSED",
        "VOIDED", "SERVICE", "SERVICE_CLOSED",
    }
)  # fmt: skip
TAKES_STOCK = frozenset(
    {
        "CLOSED", "ONACCOUNT", "ONACCOUNT_CLOSED", "LAYBY", "LAYBY_CLOSED",
        "DISPATCHED_CLOSED", "PICKED_UP_CLOSED", "SERVICE_CLOSED",
    }
)  # fmt: skip
#: Finalised sales; https://x-series-api.lightspeedhq.com/docs/sales_statuses: "a closed sale should
#: only ever move to VOIDED".
CLOSED_STATUSES = frozenset(s for s in SALE_STATUSES if s == "CLOSED" or s.endswith("_CLOSED"))


@dataclass
class LineInput:
    """One sale line as a client sends it. ``price`` is the unit price charged, tax exclusive,
    after any discount; ``discount`` is the unit discount, for reporting (Vend's sale payload
    explanation, gist pzurek: "if the price was changed discount can be declared here")."""

    product_id: str
    quantity: Decimal
    price: Decimal
    discount: Decimal = ZERO
    tax: Decimal | None = None
    tax_id: str | None = None
    cost: Decimal | None = None
    price_set: bool = False
    is_return: bool = False
    note: str | None = None
    status: str = "CONFIRMED"
    loyalty_value: Decimal = ZERO


@dataclass
class PaymentInput:
    amount: Decimal
    retailer_payment_type_id: str | None = None
    payment_date: str | None = None
    register_id: str | None = None


@dataclass
class SaleInput:
    register_id: str
    user_id: str
    status: str
    lines: list[LineInput]
    payments: list[PaymentInput] | None = None
    customer_id: str | None = None
    note: str | None = None
    sale_date: str | None = None
    invoice_number: str | None = None
    short_code: str | None = None
    return_for: str | None = None
    source: str = "USER"
    #: for seeded history; a sale written through the API is created "now"
    created_at: str | None = None


class SaleOps(ProductOps):
    # --- building the 2.0 shape --------------------------------------------------------------
    def _line(self, li: LineInput, sequence: int) -> Record:
        product = self.require_product(li.product_id)
        tax_id = li.tax_id or self.product_tax.get(product["id"], self.default_tax_id)
        rate_id, rate, _ = self.tax_rate(tax_id)
        qty = li.quantity
        unit_tax = li.tax if li.tax is not None else q5(li.price * rate)
        price_total = li.price * qty
        tax_total = unit_tax * qty if li.tax is not None else q5(price_total * rate)
        cost = li.cost if li.cost is not None else product["supply_price"]
        return {
            "id": self.new_id(),
            "product_id": product["id"],
            "tax_id": tax_id,
            "quantity": qty,
            "price": li.price,
            "price_total": price_total,
            "cost": cost,
            "cost_total": cost * qty,
            "discount": li.discount,
            "discount_total": li.discount * qty,
            "tax": unit_tax,
            "tax_total": tax_total,
            "loyalty_value": li.loyalty_value,
            "price_set": li.price_set,
            "sequence": sequence,
            "note": li.note,
            "status": li.status,
            "is_return": li.is_return,
            "tax_components": [{"rate_id": rate_id, "total_tax": tax_total}],
            # The spec's sale example repeats the values under these names as well.
            "unit_price": li.price,
            "unit_cost": cost,
            "unit_discount": li.discount,
            "unit_tax": unit_tax,
            "unit_loyalty_value": li.loyalty_value,
            "total_price": price_total,
            "total_cost": cost * qty,
            "total_discount": li.discount * qty,
            "total_tax": tax_total,
            "total_loyalty_value": li.loyalty_value * qty,
        }

    def _payment(self, pi: PaymentInput, register: Record, when: str) -> Record:
        type_id = pi.retailer_payment_type_id or self.default_payment_type_id
        ptype = self.require("payment_types", type_id, "payment type")
        return {
            "id": self.new_id(),
            "register_id": pi.register_id or register["id"],
            "outlet_id": register["outlet_id"],
            "retailer_payment_type_id": ptype["id"],
            "payment_type_id": str(ptype["type_id"]),
            "name": ptype["name"],
            "amount": pi.amount,
            "payment_date": pi.payment_date or when,
            "external_attributes": [],
        }

    @staticmethod
    def _sale_taxes(lines: list[Record], rates: Mapping[str, tuple[str, Decimal]]) -> list[Record]:
        by_rate: dict[str, Decimal] = {}
        for line in lines:
            for comp in line["tax_components"]:
                by_rate[comp["rate_id"]] = by_rate.get(comp["rate_id"], ZERO) + comp["total_tax"]
        return [
            {"id": rate_id, "name": rates[rate_id][0], "rate": rates[rate_id][1], "amount": amount}
            for rate_id, amount in by_rate.items()
        ]

    def _rates(self) -> dict[str, tuple[str, Decimal]]:
        return {r["id"]: (r["name"], r["rate"]) for t in self.taxes.values() for r in t["rates"]}

    def _next_invoice(self, register: Record) -> tuple[str, int]:
        register["invoice_sequence"] += 1
        self.save("registers", register)
        seq = register["invoice_sequence"]
        return f"{register['invoice_prefix']}{seq}{register['invoice_suffix']}", seq

    # --- writing -----------------------------------------------------------------------------
    def record_sale(self, sale_input: SaleInput, sale_id: str | None = None) -> Record:
        """Create a sale, or replace an existing one's lines/status (``sale_id`` given)."""
        si = sale_input
        if si.status not in SALE_STATUSES:
            raise Unprocessable(f"unknown sale status {si.status!r}")
        register = self.require("registers", si.register_id, "register")
        if si.customer_id is not None:
            self.require("customers", si.customer_id, "customer")
        existing = self.sales.get(sale_id) if sale_id else None
        if sale_id and existing is None:
            self.require("sales", sale_id, "sale")
        if existing is not None:
            if existing["status"] == "VOIDED" and si.status != "VOIDED":
                raise Unprocessable("a voided sale cannot be changed")
            if existing["status"] in CLOSED_STATUSES and si.status not in {existing["status"], "VOIDED"}:
                raise Unprocessable("a closed sale can only be voided")
        lines = [self._line(li, n) for n, li in enumerate(si.lines)]
        now = self.now()
        when = si.sale_date or (existing["sale_date"] if existing else now)
        if si.status == "VOIDED":
            payments: list[Record] = []
        elif si.payments is not None:
            payments = [self._payment(p, register, when) for p in si.payments]
        else:
            payments = existing["payments"] if existing else []
        if existing is not None:
            sale = existing
            if si.invoice_number:
                sale["invoice_number"] = sale["receipt_number"] = si.invoice_number
        else:
            if si.invoice_number:
                invoice, seq = si.invoice_number, register["invoice_sequence"]
            else:
                invoice, seq = self._next_invoice(register)
            sale = {
                "id": self.new_id(),
                "outlet_id": register["outlet_id"],
                "register_id": register["id"],
                "user_id": si.user_id,
                "invoice_number": invoice,
                "invoice_sequence": seq,
                "receipt_number": invoice,
                "source": si.source,
                "short_code": si.short_code or self._short_code(),
                "return_for": si.return_for,
                "total_loyalty": ZERO,
                "created_at": si.created_at or now,
                "deleted_at": None,
                "adjustments": [],
                "attributes": [],
                "version": 0,
            }
        sale.update(
            {
                "status": si.status,
                "note": si.note if si.note is not None else sale.get("note"),
                "sale_date": when,
                "updated_at": now if existing is not None or si.created_at is None else si.created_at,
                "line_items": lines,
                "payments": payments,
                "total_price": sum((li["price_total"] for li in lines), ZERO),
                "total_tax": sum((li["tax_total"] for li in lines), ZERO),
                "taxes": self._sale_taxes(lines, self._rates()),
            }
        )
        # The 2.0 schema types customer_id as a non-nullable string: a sale without a
        # customer leaves the key out rather than sending null.
        if si.customer_id is not None:
            sale["customer_id"] = si.customer_id
        self.save("sales", sale)
        self._apply_stock(sale)
        self.emit("sale.update", sale)
        return sale

    def _short_code(self) -> str:
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6))

    def _apply_stock(self, sale: Record) -> None:
        """Move stock so that the sale has taken exactly what its status and lines say, once."""
        wanted: dict[tuple[str, str], Decimal] = {}
        if sale["status"] in TAKES_STOCK:
            for line in sale["line_items"]:
                product = self.products.get(line["product_id"])
                if product is None or not product["has_inventory"] or line["status"] == "VOIDED":
                    continue
                key = (line["product_id"], sale["outlet_id"])
                wanted[key] = wanted.get(key, ZERO) + line["quantity"]
        taken = self.sale_taken.get(sale["id"], {})
        for key in sorted(set(wanted) | set(taken)):
            delta = wanted.get(key, ZERO) - taken.get(key, ZERO)
            if delta:
                self.adjust_inventory(key[0], key[1], -delta)
        self.sale_taken[sale["id"]] = {k: v for k, v in wanted.items() if v}

"""The till's buttons: ring up, void, return, as a cashier (or the store simulator) does them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from .errors import Unprocessable
from .money import ZERO, cents, q5, to_decimal
from .sales import CLOSED_STATUSES, TAKES_STOCK, LineInput, PaymentInput, SaleInput, SaleOps
from .versioned import Record


class TillOps(SaleOps):
    def ring_up_sale(
        self,
        outlet_id: str,
        lines: Sequence[Mapping[str, Any]],
        *,
        customer_id: str | None = None,
        status: str = "CLOSED",
        note: str | None = None,
        discount_total: Any | None = None,
        user_id: str | None = None,
        sale_date: str | None = None,
        created_at: str | None = None,
    ) -> Record:
        """What a cashier does: lines at the outlet's first register, paid in full when closed.

        A line is ``{"product_id", "quantity", "price" (unit, tax exclusive, before the line
        discount; defaults to the product's price), "discount" (unit, optional)}``. A sale-wide
        ``discount_total`` (tax exclusive) becomes a line of the store's discount product with
        quantity -1, as Vend's discount guide describes.
        """
        self.require("outlets", outlet_id, "outlet")
        registers = self.registers_of(outlet_id)
        if not registers:
            raise Unprocessable("the outlet has no register to ring up a sale")
        inputs: list[LineInput] = []
        for raw in lines:
            product = self.require_product(raw.get("product_id"))
            qty = to_decimal(raw.get("quantity", 1), "quantity")
            list_price = to_decimal(raw.get("price", product["price_excluding_tax"]), "price")
            discount = to_decimal(raw.get("discount", ZERO), "discount")
            inputs.append(LineInput(product["id"], qty, list_price - discount, discount, price_set=bool(discount)))
        if discount_total is not None and to_decimal(discount_total, "discount_total") != 0:
            inputs.append(
                LineInput(
                    self.discount_product_id,
                    Decimal("-1"),
                    to_decimal(discount_total, "discount_total"),
                    tax_id=self.default_tax_id,
                    cost=ZERO,
                    price_set=True,
                )
            )
        payments = None
        if status in CLOSED_STATUSES:
            payments = [PaymentInput(amount=self._amount_due(inputs))]
        return self.record_sale(
            SaleInput(
                register_id=registers[0]["id"],
                user_id=user_id or self.default_user_id,
                status=status,
                lines=inputs,
                payments=payments,
                customer_id=customer_id,
                note=note,
                sale_date=sale_date,
                created_at=created_at,
            )
        )

    def _amount_due(self, inputs: list[LineInput]) -> Decimal:
        total = ZERO
        for li in inputs:
            tax_id = li.tax_id or self.product_tax.get(li.product_id, self.default_tax_id)
            _, rate, _ = self.tax_rate(tax_id)
            net = li.price * li.quantity
            total += net + q5(net * rate)
        return cents(total)

    def void_sale(self, sale_id: str) -> Record:
        sale = self.require("sales", sale_id, "sale")
        if sale["status"] == "VOIDED":
            return sale
        sale["status"] = "VOIDED"
        sale["payments"] = []
        sale["updated_at"] = self.now()
        self.save("sales", sale)
        self._apply_stock(sale)
        self.emit("sale.update", sale)
        return sale

    def return_sale(self, sale_id: str) -> Record:
        """A new CLOSED sale with negated quantities and ``return_for`` = the original."""
        original = self.require("sales", sale_id, "sale")
        if original["status"] not in TAKES_STOCK:
            raise Unprocessable("only a completed sale can be returned")
        inputs = [
            LineInput(
                product_id=line["product_id"],
                quantity=-line["quantity"],
                price=line["price"],
                discount=line["discount"],
                tax=line["tax"],
                tax_id=line["tax_id"],
                cost=line["cost"],
                price_set=line["price_set"],
                is_return=line["product_id"] != self.discount_product_id,
            )
            for line in original["line_items"]
        ]
        refund = -cents(original["total_price"] + original["total_tax"])
        return self.record_sale(
            SaleInput(
                register_id=original["register_id"],
                user_id=original["user_id"],
                status="CLOSED",
                lines=inputs,
                payments=[PaymentInput(amount=refund)],
                customer_id=original.get("customer_id"),
                return_for=original["id"],
            )
        )

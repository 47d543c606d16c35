"""Customers: the 2.0 ``Customer`` shape, create/update/soft delete
(https://x-series-api.lightspeedhq.com/reference)."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from .errors import Unprocessable
from .money import ZERO, to_decimal
from .store import StoreBase
from .versioned import Record

#: Writable fields of the 2.0 ``CustomerBase`` schema (strings unless listed below).
WRITABLE = (
    "first_name", "last_name", "customer_code", "customer_group_id", "enable_loyalty", "email",
    "note", "gender", "date_of_birth", "company_name", "do_not_email", "phone", "mobile", "fax",
    "twitter", "website", "physical_address_1", "physical_address_2", "physical_suburb",
    "physical_city", "physical_postcode", "physical_state", "physical_country_id",
    "postal_address_1", "postal_address_2", "postal_suburb", "postal_city", "postal_postcode",
    "postal_state", "postal_country_id", "custom_field_1", "custom_field_2", "custom_field_3",
    "custom_field_4", "on_account_limit",
)  # fmt: skip
_BOOLEAN = {"enable_loyalty", "do_not_email"}
_NOT_NULL = {"customer_code", "customer_group_id", "enable_loyalty", "do_not_email"}


class CustomerOps(StoreBase):
    def _customer_code(self, first_name: str | None) -> str:
        # Examples in the spec: "Tony-37YP", "UNNAMED-669D"
        # (https://x-series-api.lightspeedhq.com/reference, INFERRED pattern).
        alphabet = string.ascii_uppercase + string.digits
        stem = "".join(ch for ch in (first_name or "") if ch.isalnum()) or "UNNAMED"
        return f"{stem}-{''.join(self.rng.choice(alphabet) for _ in range(4))}"

    def _check_customer_fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(fields) - set(WRITABLE)
        if unknown:
            raise Unprocessable(f"unknown customer field(s): {', '.join(sorted(unknown))}")
        clean: dict[str, Any] = {}
        for key, value in fields.items():
            if value is None and key in _NOT_NULL:
                raise Unprocessable(f"{key} cannot be null")
            if key in _BOOLEAN:
                if not isinstance(value, bool):
                    raise Unprocessable(f"{key} must be true or false")
            elif key == "on_account_limit":
                value = None if value is None else to_decimal(value, key)
            elif value is not None and not isinstance(value, str):
                raise Unprocessable(f"{key} must be a string")
            clean[key] = value
        if "customer_group_id" in clean and clean["customer_group_id"] != self.customer_group_id:
            raise Unprocessable("customer group does not exist")
        return clean

    def create_customer(
        self,
        first_name: str | None,
        last_name: str | None,
        *,
        email: str | None = None,
        customer_code: str | None = None,
        created_at: str | None = None,
        **fields: Any,
    ) -> Record:
        clean = self._check_customer_fields(
            {"first_name": first_name, "last_name": last_name, "email": email, **fields}
        )
        now = created_at or self.now()
        customer: Record = {field: None for field in WRITABLE}
        customer.update(
            {
                "id": self.new_id(),
                "customer_code": customer_code or self._customer_code(first_name),
                "customer_group_id": self.customer_group_id,
                "enable_loyalty": False,
                "do_not_email": False,
                "name": None,
                "year_to_date": ZERO,
                "balance": ZERO,
                "loyalty_balance": ZERO,
                "created_at": now,
                "updated_at": now,
                "deleted_at": None,
                "version": 0,
            }
        )
        customer.update(clean)
        if customer_code:
            customer["customer_code"] = customer_code
        self._refresh_name(customer)
        self.save("customers", customer)
        self.emit("customer.update", customer)
        return customer

    @staticmethod
    def _refresh_name(customer: Record) -> None:
        parts = [customer.get("first_name") or "", customer.get("last_name") or ""]
        customer["name"] = " ".join(p for p in parts if p) or None

    def update_customer(self, customer_id: str, **fields: Any) -> Record:
        customer = self.require("customers", customer_id, "customer")
        clean = self._check_customer_fields(fields)
        customer.update(clean)
        self._refresh_name(customer)
        customer["updated_at"] = self.now()
        self.save("customers", customer)
        self.emit("customer.update", customer)
        return customer

    def delete_customer(self, customer_id: str) -> Record:
        customer = self.require("customers", customer_id, "customer")
        if customer["deleted_at"] is None:
            customer["deleted_at"] = customer["updated_at"] = self.now()
            self.save("customers", customer)
            # https://x-series-api.lightspeedhq.com/docs/webhooks: customer.update fires on create, delete and change.
            self.emit("customer.update", customer)
        return customer

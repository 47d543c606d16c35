"""Products and their codes (their per-outlet inventory records live in ``inventory.py``).

Codes (``sku``, ``product_codes[].code``) and ``handle`` are stored with all whitespace removed:
the Unleashed help centre says spaces are stripped when products reach the POS
(https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction;
https://support.vendhq.com/hc/en-us/articles/201379140-What-is-a-SKU- has no
primary statement either way). That is the behaviour tillbridge must survive, so we emulate it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from .errors import BadRequest, Conflict, Unprocessable
from .inventory import InventoryOps
from .money import ZERO, q5, to_decimal
from .versioned import Record

#: Types a product code may have (2.0 spec ``ProductCode.type``).
CODE_TYPES = frozenset({"CUSTOM", "EAN", "ISBN", "ITF", "JAN", "UPC"})
_PLACEHOLDER = "https://secure.retail.lightspeed.app/images/placeholder/product/no-image-white-{}.png"


def strip_whitespace(code: str) -> str:
    return "".join(str(code).split())


class ProductOps(InventoryOps):
    # --- reads -------------------------------------------------------------------------------
    def product_by_code(self, code: str) -> Record | None:
        """``GET /products?sku=`` loads a product by any one of its codes
        (https://x-series-api.lightspeedhq.com/reference). The value is
        matched as sent: a code stored without its spaces is not found by the spaced form,
        which is exactly how POS sales stop matching Unleashed codes
        (https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction)."""
        product_id = self.code_index.get(code.lower())
        product = self.products.get(product_id) if product_id is not None else None
        if product is None or not any(c["code"] == code for c in product["product_codes"]):
            # The index is case-insensitive (for uniqueness); the look-up is exact.
            return None
        return product

    def family_of(self, product: Record) -> list[Record]:
        parent_id = product.get("variant_parent_id") or product["id"]
        ids = [parent_id, *self.family_children.get(parent_id, [])]
        members = (self.products.get(i) for i in ids)
        return [p for p in members if p is not None and p.get("deleted_at") is None]

    # --- codes -------------------------------------------------------------------------------
    def _codes_from(self, sku: str | None, product_codes: Iterable[Mapping[str, Any]] | None) -> list[tuple[str, str]]:
        """(type, code) pairs, whitespace stripped, ``sku`` first (2.0 ``sku`` is the first code)."""
        pairs: list[tuple[str, str]] = []
        if sku is not None:
            pairs.append(("CUSTOM", strip_whitespace(sku)))
        for item in product_codes or []:
            if not isinstance(item, Mapping) or "code" not in item:
                raise Unprocessable("each product code needs a code")
            code_type = str(item.get("type") or "CUSTOM").upper()
            if code_type not in CODE_TYPES:
                raise Unprocessable(f"unknown product code type {code_type!r}")
            pairs.append((code_type, strip_whitespace(item["code"])))
        seen: set[str] = set()
        unique: list[tuple[str, str]] = []
        for code_type, code in pairs:
            if not code:
                raise Unprocessable("a product code cannot be empty")
            if code.lower() not in seen:
                seen.add(code.lower())
                unique.append((code_type, code))
        return unique

    def _check_codes_free(self, product_id: str | None, pairs: list[tuple[str, str]]) -> None:
        for _, code in pairs:
            owner = self.code_index.get(code.lower())
            if owner is not None and owner != product_id:
                # changelog 2021-04: two products cannot share a code. The status is not
                # documented; https://x-series-api.lightspeedhq.com/reference lists 409 for other duplicates
                # (option duplicate_code_status).
                raise Conflict(
                    f"product code {code!r} is already used by another product",
                    status=self.opts.duplicate_code_status,
                )

    def _set_codes(self, product: Record, pairs: list[tuple[str, str]]) -> None:
        for old in product.get("product_codes", []):
            if self.code_index.get(old["code"].lower()) == product["id"]:
                del self.code_index[old["code"].lower()]
        product["product_codes"] = [{"id": self.new_id(), "type": t, "code": c} for t, c in pairs]
        product["sku"] = pairs[0][1] if pairs else None
        for _, code in pairs:
            self.code_index[code.lower()] = product["id"]

    # --- prices --------------------------------------------------------------------------------
    def _prices(
        self, tax_id: str, excluding: Any | None, including: Any | None
    ) -> tuple[Decimal, Decimal]:
        if excluding is not None and including is not None:
            raise Unprocessable("send either price_including_tax or price_excluding_tax, not both")
        _, rate, _ = self.tax_rate(tax_id)
        if including is not None:
            incl = to_decimal(including, "price_including_tax")
            return q5(incl / (1 + rate)), incl
        excl = to_decimal(excluding if excluding is not None else ZERO, "price_excluding_tax")
        return excl, q5(excl * (1 + rate))

    # --- create ----------------------------------------------------------------------------
    def create_product(
        self,
        name: str,
        sku: str | None,
        price_excluding_tax: Any | None = None,
        *,
        price_including_tax: Any | None = None,
        supply_price: Any | None = None,
        description: str = "",
        variant_parent_id: str | None = None,
        variant_options: list[dict[str, str]] | None = None,
        tax_id: str | None = None,
        inventory: Mapping[str, Any] | None = None,
        reorder: Mapping[str, tuple[Any, Any]] | None = None,
        product_codes: Iterable[Mapping[str, Any]] | None = None,
        handle: str | None = None,
        has_inventory: bool = True,
        is_active: bool = True,
        supplier: Record | None = None,
        brand: Record | None = None,
        product_type: Record | None = None,
        created_at: str | None = None,
        product_id: str | None = None,
    ) -> Record:
        """Create a product (or a variant of ``variant_parent_id``) and its inventory records.

        ``product_id`` is for system products whose id is announced elsewhere (the discount
        product named by ``/retailer``); normally the id is drawn from the seeded generator.
        """
        if not isinstance(name, str) or not name.strip():
            raise Unprocessable("name is required")
        tax_id = tax_id or self.default_tax_id
        self.require("taxes", tax_id, "tax")
        pairs = self._codes_from(sku, product_codes)
        self._check_codes_free(None, pairs)
        inventory = dict(inventory or {})
        for outlet_id in inventory:
            if outlet_id not in self.outlets:
                raise Unprocessable(f"outlet {outlet_id} does not exist")
        excl, incl = self._prices(tax_id, price_excluding_tax, price_including_tax)
        parent: Record | None = None
        if variant_parent_id is not None:
            parent = self.require("products", variant_parent_id, "variant parent product")
            if parent.get("variant_parent_id"):
                parent = self.require("products", parent["variant_parent_id"], "variant parent product")
        options = [
            {"id": self._variant_attribute_id(o["name"]), "name": o["name"], "value": o["value"]}
            for o in (variant_options or [])
        ]
        family_name = parent["name"] if parent else name.strip()
        now = created_at or self.now()
        product_id = product_id or self.new_id()
        product: Record = {
            "id": product_id,
            "name": family_name,
            "variant_name": " / ".join([family_name, *(o["value"] for o in options)]),
            "handle": parent["handle"] if parent else strip_whitespace(handle or "") or self._handle_for(family_name),
            "sku": None,
            "product_codes": [],
            "description": description,
            "active": is_active,
            "is_active": is_active,
            "has_inventory": has_inventory,
            "is_composite": False,
            "has_variants": False,
            "variant_parent_id": parent["id"] if parent else None,
            "variant_options": options,
            "variant_count": 0,
            "price_excluding_tax": excl,
            "price_including_tax": incl,
            "supply_price": to_decimal(supply_price if supply_price is not None else ZERO, "supply_price"),
            "supplier_id": supplier["id"] if supplier else None,
            "supplier_code": None,
            "supplier": dict(supplier) if supplier else {},
            "product_type_id": product_type["id"] if product_type else None,
            "type": dict(product_type) if product_type else {},
            "brand_id": brand["id"] if brand else None,
            "brand": dict(brand) if brand else {},
            "product_suppliers": [],
            "tag_ids": [],
            "categories": [],
            "attributes": [],
            "images": [],
            "image_url": _PLACEHOLDER.format("standard"),
            "image_thumbnail_url": _PLACEHOLDER.format("thumb"),
            "source": "USER",
            "source_id": None,
            "source_variant_id": None,
            "account_code": None,
            "account_code_purchase": None,
            "loyalty_amount": None,
            "button_order": 0,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
            "version": 0,
        }
        self._set_codes(product, pairs)
        self.product_tax[product_id] = tax_id
        self.save("products", product)
        if parent is not None:
            self.family_children.setdefault(parent["id"], []).append(product_id)
            self._refresh_family_parent(parent)
        for outlet in self.outlets.values():
            amount = inventory.get(outlet["id"])
            point, restock = (reorder or {}).get(outlet["id"], (None, None))
            self._new_inventory_record(product, outlet["id"], amount, point, restock)
        # After the inventory records exist: the product payload lists them (payloads.py).
        self.emit("product.update", product)
        return product

    def _variant_attribute_id(self, name: str) -> str:
        if name not in self.variant_attribute_ids:
            self.variant_attribute_ids[name] = self.new_id()
        return self.variant_attribute_ids[name]

    def _handle_for(self, name: str) -> str:
        # Handles: lowercase alphanumerics (https://support.vendhq.com/hc/en-us/articles/201379140-What-is-a-SKU-
        # advice); a suffix keeps families apart.
        base = "".join(ch for ch in name.lower() if ch.isalnum()) or "product"
        return f"{base}{len(self.products) + 1}"

    def _refresh_family_parent(self, parent: Record) -> None:
        family = self.family_of(parent)
        count = len(family)
        if parent["has_variants"] is not True or parent["variant_count"] != count:
            parent["has_variants"] = True
            parent["variant_count"] = count
            parent["updated_at"] = self.now()
            self.save("products", parent)

    # --- update ----------------------------------------------------------------------------
    def update_product(self, product_id: str, **fields: Any) -> Record:
        """Change product fields (2.0 names); bumps the version. Family-wide fields are not
        copied to siblings here: that is what ``PUT /api/2.1`` ``common`` does."""
        product = self.require("products", product_id, "product")
        allowed = {
            "name", "description", "sku", "product_codes", "handle", "price_excluding_tax",
            "price_including_tax", "supply_price", "is_active", "active", "has_inventory", "tax_id",
            "supplier_code", "loyalty_amount", "variant_options", "source", "source_id",
        }  # fmt: skip
        unknown = set(fields) - allowed
        if unknown:
            raise BadRequest(f"cannot update product field(s): {', '.join(sorted(unknown))}")
        self._apply_product_fields(product, fields)
        product["updated_at"] = self.now()
        self.save("products", product)
        self.emit("product.update", product)
        return product

    def _apply_product_fields(self, product: Record, fields: Mapping[str, Any]) -> None:
        """Validate everything first, then change: a refused update changes nothing."""
        tax_id = fields.get("tax_id", self.product_tax.get(product["id"], self.default_tax_id))
        self.require("taxes", tax_id, "tax")
        pairs: list[tuple[str, str]] | None = None
        if "sku" in fields or "product_codes" in fields:
            current = [(c["type"], c["code"]) for c in product["product_codes"]]
            if "product_codes" in fields:
                codes = fields["product_codes"]
                if not isinstance(codes, list):
                    raise Unprocessable("product_codes must be a list")
                pairs = self._codes_from(fields.get("sku"), codes)
            else:
                new_sku = strip_whitespace(fields["sku"] or "")
                pairs = self._codes_from(new_sku, [{"type": t, "code": c} for t, c in current[1:]])
            self._check_codes_free(product["id"], pairs)
        prices: tuple[Decimal, Decimal] | None = None
        if "price_excluding_tax" in fields or "price_including_tax" in fields or "tax_id" in fields:
            excl_in = fields.get("price_excluding_tax")
            incl_in = fields.get("price_including_tax")
            if excl_in is None and incl_in is None:
                excl_in = product["price_excluding_tax"]
            prices = self._prices(tax_id, excl_in, incl_in)
        supply = to_decimal(fields["supply_price"], "supply_price") if "supply_price" in fields else None
        if "name" in fields and (not isinstance(fields["name"], str) or not fields["name"].strip()):
            raise Unprocessable("name cannot be empty")
        # --- apply
        if pairs is not None:
            self._set_codes(product, pairs)
        if prices is not None:
            product["price_excluding_tax"], product["price_including_tax"] = prices
        self.product_tax[product["id"]] = tax_id
        if supply is not None:
            product["supply_price"] = supply
        if "name" in fields:
            product["name"] = fields["name"].strip()
            values = [o["value"] for o in product["variant_options"]]
            product["variant_name"] = " / ".join([product["name"], *values])
        if "handle" in fields:
            product["handle"] = strip_whitespace(fields["handle"] or "") or product["handle"]
        for flag in ("is_active", "active"):
            if flag in fields:
                product["is_active"] = product["active"] = bool(fields[flag])
        if "has_inventory" in fields:
            product["has_inventory"] = bool(fields["has_inventory"])
        for plain in ("description", "supplier_code", "loyalty_amount", "source", "source_id"):
            if plain in fields:
                product[plain] = fields[plain]
        if "variant_options" in fields:
            product["variant_options"] = [
                {"id": self._variant_attribute_id(o["name"]), "name": o["name"], "value": o["value"]}
                for o in fields["variant_options"] or []
            ]
            values = [o["value"] for o in product["variant_options"]]
            product["variant_name"] = " / ".join([product["name"], *values])

    def delete_product(self, product_id: str) -> Record:
        """Soft delete (``deleted_at`` set, listed only with ``deleted=true``); frees its codes."""
        product = self.require("products", product_id, "product")
        if product.get("deleted_at") is None:
            self._set_codes(product, [])
            product["deleted_at"] = product["updated_at"] = self.now()
            self.save("products", product)
            self.emit("product.update", product)
        return product

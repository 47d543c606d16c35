"""Products: create-or-update by Guid, obsolete, and the filtered list.

https://apidocs.unleashedsoftware.com/Products: ``POST /Products/{Guid}`` creates or updates (no PUT, no
DELETE); ``POST /Products/Obsolete/{Guid}`` obsoletes. The body is merged into the stored record,
so a partial body updates only what it names [I]; clients should still send whole objects
(https://apidocs.unleashedsoftware.com/Products).
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any, Sequence

from .errors import UnleashedError, not_found
from .lookups import customer_by_code, index_code, product_by_code
from .query import Lazy, Query, in_guid_list, modified_since, starts_with
from .state import Record, UnleashedState
from .validation import Problems, check_guid_matches

# Text fields a client may write, with the documented maximum length where one is known.
TEXT_FIELDS: dict[str, int | None] = {
    "ProductCode": 100,  # https://apidocs.unleashedsoftware.com/Products
    "ProductDescription": 500,  # https://apidocs.unleashedsoftware.com/Products
    "Barcode": 50,
    "Notes": 500,
    "XeroTaxCode": 50,
    "XeroSalesTaxCode": 50,
    "XeroSalesAccount": 50,
    "XeroCostOfGoodsAccount": 50,
    "PurchaseAccount": 50,
    "BinLocation": 100,
    "SourceId": 500,
    "SourceVariantParentId": 500,
    "ImageUrl": 2000,
    "CommerceCode": 100,
    "Comments": 2048,
    "ICCCountryCode": 2,
    "ICCCountryName": 100,
    "CustomsDescription": 500,
}
DECIMAL_FIELDS = (
    "PackSize", "Width", "Height", "Depth", "Weight", "MinStockAlertLevel", "MaxStockAlertLevel",
    "ReOrderPoint", "LastCost", "DefaultPurchasePrice", "DefaultSellPrice", "AverageLandPrice",
    "XeroTaxRate", "XeroSalesTaxRate", "MinimumOrderQuantity", "MinimumSaleQuantity", "MinimumSellPrice",
)
BOOL_FIELDS = (
    "NeverDiminishing", "TaxablePurchase", "TaxableSales", "CanAutoAssemble", "IsSellable",
    "IsPurchasable", "IsBatchTracked", "IsSerialized",
)
OBJECT_FIELDS = ("Supplier", "InventoryDetails", "Images", "AttributeSet", "AlternateUnitsOfMeasure")
PRICE_TIERS = tuple(f"SellPriceTier{n}" for n in range(1, 11))
# https://apidocs.unleashedsoftware.com/Products filter ``brief``: only these fields come back.
BRIEF_FIELDS = ("Guid", "ProductCode", "ProductDescription", "DefaultPurchasePrice", "DefaultSellPrice", "SellPriceTier1", "DefaultSupplierId")


def _named(state: UnleashedState, registry: dict[str, Record], name_field: str, value: Any) -> Record | None:
    """UnitOfMeasure / ProductGroup by name, creating the entry on first use (as the UI does) [I]."""
    if not isinstance(value, dict) or not value.get(name_field):
        return None
    name = str(value[name_field])
    for entry in registry.values():
        if entry[name_field].upper() == name.upper():
            return entry
    guid = str(value.get("Guid") or state.new_id()).lower()
    entry = {"Guid": guid, name_field: name}
    if name_field == "GroupName":
        entry["LastModifiedOn"] = state.now()
    registry[guid] = entry
    return entry


def new_product(state: UnleashedState, guid: str) -> Record:
    now = state.now()
    record: Record = {
        "Guid": guid, "ProductCode": None, "ProductDescription": None, "Barcode": None,
        "PackSize": None, "Width": None, "Height": None, "Depth": None, "Weight": None,
        "MinStockAlertLevel": None, "MaxStockAlertLevel": None, "ReOrderPoint": None,
        "UnitOfMeasure": None, "NeverDiminishing": False, "LastCost": None,
        "DefaultPurchasePrice": None, "DefaultSellPrice": None, "AverageLandPrice": Decimal("0"),
        "Obsolete": False, "Notes": None,
    }
    for n, tier in enumerate(PRICE_TIERS, start=1):
        # https://apidocs.unleashedsoftware.com/Products: each tier is {Name, Value}; Name defaults to "Sell
        # Price Tier N", Value null.
        record[tier] = {"Name": f"Sell Price Tier {n}", "Value": None}
    record.update({
        "XeroTaxCode": None, "XeroTaxRate": None, "TaxablePurchase": True, "TaxableSales": True,
        "XeroSalesTaxCode": None, "XeroSalesTaxRate": None, "IsComponent": False,
        "IsAssembledProduct": False, "CanAutoAssemble": False, "IsSellable": True, "IsPurchasable": True,
        "IsBatchTracked": False, "IsSerialized": False, "ProductGroup": None, "XeroSalesAccount": None,
        "XeroCostOfGoodsAccount": None, "PurchaseAccount": None, "BinLocation": None, "Supplier": None,
        "SourceId": None, "SourceVariantParentId": None, "CreatedBy": state.settings_user(),
        "CreatedOn": now, "LastModifiedBy": state.settings_user(), "LastModifiedOn": now,
        "InventoryDetails": [], "Images": [], "ImageUrl": None, "AttributeSet": None,
        "AlternateUnitsOfMeasure": [], "CommerceCode": None, "Comments": None,
        "MinimumOrderQuantity": None, "MinimumSaleQuantity": None, "MinimumSellPrice": None,
        "ICCCountryCode": None, "ICCCountryName": None, "CustomsDescription": None,
    })
    return record


def _apply(state: UnleashedState, record: Record, body: dict[str, Any], *, creating: bool) -> None:
    problems = Problems()
    for field, max_len in TEXT_FIELDS.items():
        if field in body or (creating and field in ("ProductCode", "ProductDescription")):
            required = field in ("ProductCode", "ProductDescription")
            value = problems.text(body, field, max_len=max_len, required=required)
            if value is not None or not required:
                record[field] = value.strip() if field == "ProductCode" and value else value
    code = record.get("ProductCode")
    if code:
        clash = product_by_code(state, code)
        if clash is not None and clash["Guid"] != record["Guid"]:
            problems.add("ProductCode", f"Product code '{code}' is already used by another product.")
    for field in DECIMAL_FIELDS:
        if field in body:
            record[field] = problems.decimal(body, field, minimum=Decimal("0"))
    for field in BOOL_FIELDS:
        if field in body:
            flag = problems.boolean(body, field)
            if flag is not None:
                record[field] = flag
    for field in OBJECT_FIELDS:
        if field in body:
            record[field] = copy.deepcopy(body[field])
    for field in PRICE_TIERS:
        tier = body.get(field)
        if isinstance(tier, dict):
            value = tier.get("Value")
            if value not in (None, ""):
                # https://apidocs.unleashedsoftware.com/Products: tier values are typed as strings by
                # clients; kept as text [C].
                value = str(problems.decimal(tier, "Value") if not isinstance(value, str) else value)
            record[field] = {"Name": tier.get("Name") or record[field]["Name"], "Value": value}
    if "UnitOfMeasure" in body:
        record["UnitOfMeasure"] = _named(state, state.units, "Name", body["UnitOfMeasure"])
    if "ProductGroup" in body:
        record["ProductGroup"] = _named(state, state.product_groups, "GroupName", body["ProductGroup"])
    if creating and record.get("CreatedBy") is None:
        record["CreatedBy"] = state.settings_user()
    problems.raise_if_any("The product is not valid")


def upsert_product(state: UnleashedState, guid: str, body: dict[str, Any]) -> tuple[Record, bool]:
    """Create or update; returns the stored record and whether it was created (201 vs 200)."""
    guid = guid.lower()
    check_guid_matches(guid, body)
    existing = state.products.get(guid)
    creating = existing is None
    record = new_product(state, guid) if existing is None else copy.deepcopy(existing)
    _apply(state, record, body, creating=creating)
    if not creating:
        record["LastModifiedOn"] = state.now()
        record["LastModifiedBy"] = state.settings_user()
    state.products[guid] = record
    state.revision += 1
    index_code(state.product_codes, existing.get("ProductCode") if existing else None, record.get("ProductCode"), guid)
    state.emit("product.created" if creating else "product.updated", {"productGuid": guid})
    return record, creating


def obsolete_product(state: UnleashedState, guid: str) -> Record:
    product = state.products.get(guid.lower())
    if product is None:
        raise not_found("Product", guid)
    if not product["Obsolete"]:
        state.revision += 1
        product["Obsolete"] = True
        product["LastModifiedOn"] = state.now()
        state.emit("product.updated", {"productGuid": product["Guid"]})
    return product


def render_product(state: UnleashedState, product: Record, *, brief: bool = False, customer: Record | None = None) -> Record:
    if brief:
        out = {k: copy.deepcopy(product.get(k)) for k in BRIEF_FIELDS if k != "DefaultSupplierId"}
        supplier = product.get("Supplier")
        out["DefaultSupplierId"] = supplier.get("Guid") if isinstance(supplier, dict) else None
        return out
    out = copy.deepcopy(product)
    if customer is not None:
        out["CustomerSellPrice"] = customer_sell_price(product, customer)
    return out


def customer_sell_price(product: Record, customer: Record) -> Decimal | None:
    """https://apidocs.unleashedsoftware.com/Products ``customerCode`` filter adds CustomerSellPrice: the customer's
    tier, else less its discount [I]."""
    tier_name = customer.get("SellPriceTier")
    for tier in PRICE_TIERS:
        if tier_name and product[tier]["Name"] == tier_name and product[tier]["Value"] not in (None, ""):
            return Decimal(str(product[tier]["Value"]))
    price = product.get("DefaultSellPrice")
    if price is None:
        return None
    discount = customer.get("DiscountRate") or Decimal("0")
    return (price * (1 - discount)).quantize(Decimal("0.0001"))


def list_products(state: UnleashedState, q: Query) -> Sequence[Record]:
    """``GET /Products`` with the filters of https://apidocs.unleashedsoftware.com/Products
    (default order ProductCode)."""
    include_obsolete = q.flag("includeObsolete")
    since = q.date("modifiedSince")
    ids = q.csv("productId")
    code, description = q.get("productCode"), q.get("productDescription")
    contains, barcode, group = q.get("product"), q.get("productBarcode"), q.get("productGroup")
    exclude_assembled, exclude_components = q.flag("excludeAssembled"), q.flag("excludeComponents")
    customer = None
    if q.get("customerCode"):
        customer = customer_by_code(state, q.get("customerCode") or "")
        if customer is None:
            raise UnleashedError(400, f"Customer '{q.get('customerCode')}' does not exist.", field="customerCode")
    rows = []
    for p in state.products.values():
        if p["Obsolete"] and not include_obsolete:
            continue
        if not (modified_since(p["LastModifiedOn"], since) and in_guid_list(p["Guid"], ids)):
            continue
        if not (starts_with(p["ProductCode"], code) and starts_with(p["ProductDescription"], description)):
            continue
        if contains and contains.upper() not in f"{p['ProductCode']}\n{p['ProductDescription']}".upper():
            continue
        if barcode and (p.get("Barcode") or "") != barcode:
            continue
        if group and ((p.get("ProductGroup") or {}).get("GroupName") or "").upper() != group.upper():
            continue
        if (exclude_assembled and p["IsAssembledProduct"]) or (exclude_components and p["IsComponent"]):
            continue
        rows.append(p)
    order_by = (q.get("orderBy") or "ProductCode").lower()
    if order_by == "lastmodifiedon":
        rows.sort(key=lambda p: (p["LastModifiedOn"], p["ProductCode"].upper()))
    elif order_by == "createdon":
        rows.sort(key=lambda p: (p["CreatedOn"], p["ProductCode"].upper()))
    else:
        rows.sort(key=lambda p: p["ProductCode"].upper())
    brief = q.flag("brief")
    return Lazy(rows, lambda p: render_product(state, p, brief=brief, customer=customer))

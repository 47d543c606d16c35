"""Bills of materials: what an assembled product is made of, and whether it auto-assembles.

https://apidocs.unleashedsoftware.com/BillOfMaterials: ``POST /BillOfMaterials/{Guid}`` creates,
``PUT /BillOfMaterials/{Guid}`` updates; filters ``productGuid`` and ``includeObsolete``.
Line field names were not retrievable [?]; we use ``LineNumber``, ``Product`` {Guid, ProductCode,
ProductDescription}, ``Quantity``, ``WastageQuantity`` plus optional cost and comment fields, as
the notes infer from the BOM CSV import template [I]. Wastage is consumed per unit built [I].
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from .errors import UnleashedError, not_found
from .lookups import product_ref, resolve_product
from .query import Query, in_guid_list
from .state import ZERO, Record, UnleashedState
from .validation import Problems, check_guid_matches

# https://apidocs.unleashedsoftware.com/BillOfMaterials: AverageDuration is "not in list GET".
LIST_OMITS = ("AverageDuration",)


def _cost_of(product: Record) -> Decimal:
    return product.get("AverageLandPrice") or product.get("DefaultPurchasePrice") or ZERO


def _lines(state: UnleashedState, problems: Problems, raw: Any, assembled_guid: str) -> list[Record]:
    if not isinstance(raw, list) or not raw:
        problems.add("BillOfMaterialsLines", "A bill of materials needs at least one line.")
        return []
    lines: list[Record] = []
    for index, entry in enumerate(raw):
        field = f"BillOfMaterialsLines[{index}]"
        if not isinstance(entry, dict):
            problems.add(field, "Each line must be an object.")
            continue
        try:
            component = resolve_product(state, entry.get("Product"), f"{field}.Product")
        except UnleashedError as exc:
            problems.add(f"{field}.Product", exc.description)
            continue
        if component["Guid"] == assembled_guid:
            problems.add(f"{field}.Product", "A product cannot be a component of itself.")
        quantity = problems.decimal(entry, "Quantity")
        if quantity is None or quantity <= 0:
            problems.add(f"{field}.Quantity", "Quantity must be greater than 0.")
            quantity = Decimal("1")
        wastage = problems.decimal(entry, "WastageQuantity", minimum=ZERO) or ZERO
        unit_cost = _cost_of(component)
        lines.append({
            "Guid": str(entry.get("Guid") or state.new_id()).lower(),
            "LineNumber": int(entry.get("LineNumber") or index + 1),
            "Product": product_ref(component),
            "Quantity": quantity,
            "WastageQuantity": wastage,
            "UnitCost": unit_cost,
            "TotalCost": ((quantity + wastage) * unit_cost).quantize(Decimal("0.0001")),
            "Comments": entry.get("Comments"),
            "LastModifiedOn": state.now(),
        })
    return lines


def _uses(state: UnleashedState, product_guid: str, target: str, depth: int = 0) -> bool:
    """Does ``product_guid``'s bill (transitively) use ``target``? Guards against cycles."""
    bom = state.bom_for(product_guid)
    if bom is None or depth > 16:
        return False
    for line in bom["BillOfMaterialsLines"]:
        guid = line["Product"]["Guid"]
        if guid == target or _uses(state, guid, target, depth + 1):
            return True
    return False


def refresh_product_flags(state: UnleashedState) -> None:
    """Mirror BOMs onto products: IsAssembledProduct, IsComponent, CanAutoAssemble
    (https://apidocs.unleashedsoftware.com/Products [I])."""
    assembled: dict[str, bool] = {}
    components: set[str] = set()
    for bom in state.boms.values():
        if bom["Obsolete"]:
            continue
        assembled[bom["Product"]["Guid"]] = bom["CanAutoAssemble"]
        components.update(line["Product"]["Guid"] for line in bom["BillOfMaterialsLines"])
    now = state.now()
    for product in state.products.values():
        flags = {
            "IsAssembledProduct": product["Guid"] in assembled,
            "IsComponent": product["Guid"] in components,
            "CanAutoAssemble": assembled.get(product["Guid"], False),
        }
        if any(product[k] != v for k, v in flags.items()):
            product.update(flags)
            product["LastModifiedOn"] = now
            state.emit("product.updated", {"productGuid": product["Guid"]})


def _apply(state: UnleashedState, record: Record, body: dict[str, Any], *, creating: bool) -> None:
    problems = Problems()
    if creating or "Product" in body:
        try:
            assembled = resolve_product(state, body.get("Product"), "Product")
        except UnleashedError as exc:
            raise UnleashedError(400, exc.description, field="Product") from None
        other = state.bom_for(assembled["Guid"])
        if other is not None and other["Guid"] != record["Guid"]:
            problems.add("Product", f"Product '{assembled['ProductCode']}' already has bill of materials {other['BillNumber']}.")
        record["Product"] = product_ref(assembled)
    if creating or "BillOfMaterialsLines" in body:
        record["BillOfMaterialsLines"] = _lines(state, problems, body.get("BillOfMaterialsLines"), record["Product"]["Guid"])
        for line in record["BillOfMaterialsLines"]:
            if _uses(state, line["Product"]["Guid"], record["Product"]["Guid"]):
                problems.add("BillOfMaterialsLines", f"Component '{line['Product']['ProductCode']}' is itself assembled from this product.")
    if body.get("BillNumber"):
        number = problems.text(body, "BillNumber", max_len=15)
        if number and any(b["BillNumber"] == number and b["Guid"] != record["Guid"] for b in state.boms.values()):
            problems.add("BillNumber", f"Bill number '{number}' is already used.")
        if number:
            record["BillNumber"] = number
    for field in ("CanAutoAssemble", "CanAutoDisassemble", "Obsolete", "AutoAssignOldestBatchSerial", "SortByProductCode"):
        if field in body:
            value = problems.boolean(body, field)
            if value is not None:
                record[field] = value
    for field in ("DurationType",):
        if body.get(field) is not None:
            if body[field] not in ("Unit", "Assembly"):
                problems.add(field, "DurationType must be Unit or Assembly.")
            else:
                record[field] = body[field]
    for field in ("ExpectedDuration", "AverageDuration", "ProductionDaysPerWeek"):
        if field in body:
            record[field] = problems.decimal(body, field, minimum=ZERO)
    product = state.products.get(record["Product"]["Guid"]) if record.get("Product") else None
    if record.get("CanAutoAssemble") and product and (product["IsBatchTracked"] or product["IsSerialized"]):
        # https://apidocs.unleashedsoftware.com/BillOfMaterials: auto-assembly is "not available for serial
        # or batch tracked items".
        problems.add("CanAutoAssemble", "Auto-assembly is not available for serial or batch tracked products.")
    problems.raise_if_any("The bill of materials is not valid")
    record["TotalCost"] = sum((line["TotalCost"] for line in record["BillOfMaterialsLines"]), ZERO)


def new_bom(state: UnleashedState, guid: str) -> Record:
    now = state.now()
    return {
        "Guid": guid, "BillNumber": None, "Product": None, "BillOfMaterialsLines": [],
        "CanAutoAssemble": False, "CanAutoDisassemble": False, "DurationType": "Unit",
        "ExpectedDuration": None, "AverageDuration": None, "ProductionDaysPerWeek": Decimal("5"),
        "Obsolete": False, "AutoAssignOldestBatchSerial": False, "SortByProductCode": False,
        "TotalCost": ZERO, "AssemblyLayoutId": None, "CreatedBy": state.settings_user(), "CreatedOn": now,
        "LastModifiedBy": state.settings_user(), "LastModifiedOn": now,
    }


def create_bom(state: UnleashedState, guid: str, body: dict[str, Any]) -> Record:
    guid = guid.lower()
    check_guid_matches(guid, body)
    if guid in state.boms:
        raise UnleashedError(400, f"Bill of materials '{guid}' already exists; use PUT to update it.", field="Guid")
    record = new_bom(state, guid)
    _apply(state, record, body, creating=True)
    if record["BillNumber"] is None:
        record["BillNumber"] = state.next_number("BOM", 5)
    record["Obsolete"] = False  # https://apidocs.unleashedsoftware.com/BillOfMaterials: Obsolete is false on add
    state.boms[guid] = record
    state.revision += 1
    refresh_product_flags(state)
    return record


def update_bom(state: UnleashedState, guid: str, body: dict[str, Any]) -> Record:
    guid = guid.lower()
    check_guid_matches(guid, body)
    existing = state.boms.get(guid)
    if existing is None:
        raise not_found("Bill of materials", guid)
    record = copy.deepcopy(existing)
    _apply(state, record, body, creating=False)
    record["LastModifiedOn"] = state.now()
    record["LastModifiedBy"] = state.settings_user()
    state.boms[guid] = record
    state.revision += 1
    refresh_product_flags(state)
    return record


def render_bom(bom: Record, *, in_list: bool) -> Record:
    out = copy.deepcopy(bom)
    if in_list:
        for field in LIST_OMITS:
            out.pop(field, None)
    return out


def list_boms(state: UnleashedState, q: Query) -> list[Record]:
    include_obsolete = q.flag("includeObsolete")
    product = q.csv("productGuid")
    rows = [
        b for b in state.boms.values()
        if (include_obsolete or not b["Obsolete"]) and in_guid_list(b["Product"]["Guid"], product)
    ]
    rows.sort(key=lambda b: b["BillNumber"])
    return [render_bom(b, in_list=True) for b in rows]

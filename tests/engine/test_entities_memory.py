"""Records share pydantic's set of the fields they were given (core/entities.py ``_Shared``):
what a record holds and reports is unchanged; only the per-record copy of the set is gone."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from decimal import Decimal

from tillbridge import Sale, SaleLine, StockLevel


def level(n: int, **extra: object) -> StockLevel:
    return StockLevel(id=f"p{n}@w", product_id=f"p{n}", location_id="w", on_hand=Decimal(n),
                      available=Decimal(n), **extra)  # type: ignore[arg-type]


def test_records_given_the_same_fields_share_one_set_and_report_their_own_fields() -> None:
    a, b = level(1), level(2)
    coded = level(3, product_code="C-3")
    assert a.model_fields_set is b.model_fields_set
    assert a.model_fields_set == {"id", "product_id", "location_id", "on_hand", "available"}
    assert coded.model_fields_set == a.model_fields_set | {"product_code"}
    assert coded.model_dump(exclude_unset=True)["product_code"] == "C-3"
    assert "product_code" not in a.model_dump(exclude_unset=True)


def test_a_copy_with_changes_adds_its_fields_without_touching_the_originals_set() -> None:
    a, b = level(1), level(2)
    copied = a.model_copy(update={"product_code": "C-1", "available": Decimal(0)})
    assert copied.model_fields_set == a.model_fields_set | {"product_code"}
    assert a.model_fields_set == b.model_fields_set == {"id", "product_id", "location_id", "on_hand", "available"}
    assert copied.model_copy(update={"id": "x"}).model_fields_set is copied.model_fields_set  # same fields: shared
    assert (a.available, copied.available, copied.product_code) == (Decimal(1), Decimal(0), "C-1")


def test_remapped_sales_and_their_lines_share_the_sets() -> None:
    def sale(n: int) -> Sale:
        return Sale(id=f"s{n}", number=str(n), location_id="o1", status="closed",
                    sale_date=datetime(2026, 12, 1, tzinfo=timezone.utc), subtotal=Decimal(5),
                    tax_total=Decimal(0), total=Decimal(5),
                    lines=(SaleLine(product_id="p1", quantity=Decimal(1), unit_price=Decimal(5)),))

    one, two = (s.remap(lambda etype, rid: f"T-{rid}") for s in (sale(1), sale(2)))
    assert one.lines[0].product_id == "T-p1" and one.location_id == "T-o1"
    assert one.model_fields_set is two.model_fields_set
    assert one.lines[0].model_fields_set is two.lines[0].model_fields_set


def test_a_shared_set_is_what_saves_the_memory() -> None:
    """The per-record set is larger than the record's own fields (what this change is for)."""
    a = level(1)
    assert sys.getsizeof(a.model_fields_set) > sys.getsizeof(a.__dict__)

"""A small sample drop folder: two outlets, six products, three customers, six sales.

Used by ``tillbridge csv sample FOLDER`` and by the tests. Prices are tax-exclusive; sales carry
15 % tax (a rate the Unleashed demo account has exactly one revenue tax code for).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from .folder import SALES_DIR, TABLES

OUTLETS = [("o-harbour", "Harbour Street", "HARBOUR"), ("o-market", "Market Square", "MARKET")]
PRODUCTS = [
    ("p-1001", "CSV-TEE-S", "Tee, small", "24.00", "9.50"),
    ("p-1002", "CSV-TEE-M", "Tee, medium", "24.00", "9.50"),
    ("p-1003", "CSV-CAP", "Cap", "18.00", "6.00"),
    ("p-1004", "CSV-MUG", "Enamel mug", "12.50", "4.20"),
    ("p-1005", "CSV-TOTE", "Tote bag", "15.00", "5.10"),
    ("p-1006", "CSV-SOCKS", "Socks, pair", "9.00", "2.80"),
]
CUSTOMERS = [
    ("c-1", "CSV-C1", "Ana Lopes", "Ana", "Lopes", "ana@example.com"),
    ("c-2", "CSV-C2", "Ben Okafor", "Ben", "Okafor", "ben@example.com"),
    ("c-3", "CSV-C3", "Chloe Tan", "Chloe", "Tan", "chloe@example.com"),
]


def _line(product_id: str, quantity: int, unit_price: str) -> dict[str, Any]:
    return {"product_id": product_id, "quantity": quantity, "unit_price": unit_price, "tax_rate": "0.15"}


SALES: list[dict[str, Any]] = [
    {"id": "s-1", "number": "CSV-1", "outlet_id": "o-harbour", "status": "closed", "date": "2026-03-02T09:15:00Z",
     "customer_id": "c-1", "lines": [_line("p-1001", 2, "24.00"), _line("p-1004", 1, "12.50")]},
    {"id": "s-2", "number": "CSV-2", "outlet_id": "o-harbour", "status": "closed", "date": "2026-03-02T10:40:00Z",
     "lines": [_line("p-1003", 1, "18.00")]},
    {"id": "s-3", "number": "CSV-3", "outlet_id": "o-market", "status": "closed", "date": "2026-03-02T11:05:00Z",
     "customer_id": "c-2", "lines": [_line("p-1005", 3, "15.00"), _line("p-1006", 2, "9.00")]},
    {"id": "s-4", "number": "CSV-4", "outlet_id": "o-market", "status": "closed", "date": "2026-03-02T12:30:00Z",
     "lines": [_line("p-1002", 1, "24.00")]},
    # Not imported as orders: an open (parked) sale comes back once closed; a voided one is logged.
    {"id": "s-5", "number": "CSV-5", "outlet_id": "o-harbour", "status": "open", "date": "2026-03-02T13:00:00Z",
     "lines": [_line("p-1001", 1, "24.00")]},
    {"id": "s-6", "number": "CSV-6", "outlet_id": "o-market", "status": "voided", "date": "2026-03-02T13:20:00Z",
     "lines": [_line("p-1003", 1, "18.00")]},
]


def _write_table(path: Path, table: str, rows: list[dict[str, str]]) -> None:
    with (path / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=TABLES[table], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def write_sample(folder: Path) -> Path:
    """Create ``folder`` (if needed) and fill it with the sample; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_table(folder, "outlets", [{"id": i, "name": n, "code": c} for i, n, c in OUTLETS])
    _write_table(folder, "products", [{"id": i, "code": c, "description": d, "sell_price": p, "cost_price": cost}
                                      for i, c, d, p, cost in PRODUCTS])
    _write_table(folder, "customers", [{"id": i, "code": c, "name": n, "first_name": f, "last_name": last,
                                        "email": e} for i, c, n, f, last, e in CUSTOMERS])
    (folder / SALES_DIR).mkdir(exist_ok=True)
    for document in SALES:
        (folder / SALES_DIR / f"{document['number']}.json").write_text(json.dumps(document, indent=2) + "\n",
                                                                       encoding="utf-8")
    return folder


__all__ = ["CUSTOMERS", "OUTLETS", "PRODUCTS", "SALES", "write_sample"]

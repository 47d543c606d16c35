"""``CsvFolderConnector``: a drop folder as the point of sale of a connection.

It reads products, customers, outlets and sales from files (see ``folder.py`` for the layout)
and, for the export flows, writes products and customers back into the CSV tables, and stock
levels into ``stock.csv`` (the plugin's own flow ``csv_stock``, see ``plugin.py``). Which file
content it has read is remembered in the connection's durable state (``stamps.py``). The folder
is the connection's URL: ``tillbridge connect csv /srv/drop -c shop`` (``commands.py``).

There is no HTTP here, so no credentials and no rate limits; everything else — cursors,
bindings, fingerprints, the connection log, retries of held records — is the engine's, exactly
as for the built-in connectors.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, ClassVar, Sequence

from tillbridge import (
    Connector,
    ConnectorContext,
    Customer,
    Entity,
    Outgoing,
    Page,
    Product,
    PushResult,
    RecordRejected,
    StockLevel,
    Unsupported,
)

from . import convert
from .folder import DropFolder
from .paging import page_after
from .stamps import FileTimes

ROW_WRITERS: dict[str, tuple[str, Callable[[Any, str, datetime], dict[str, str]]]] = {
    "product": ("products", convert.product_row),
    "customer": ("customers", convert.customer_row),
    "stock": ("stock", convert.stock_row),
}


class CsvFolderConnector(Connector):
    system: ClassVar[str] = "csv"
    title: ClassVar[str] = "CSV/JSON drop folder"
    roles: ClassVar[frozenset[str]] = frozenset({"pos"})
    reads: ClassVar[frozenset[str]] = frozenset({"product", "customer", "location", "sale"})
    writes: ClassVar[frozenset[str]] = frozenset(ROW_WRITERS)
    max_page_size: ClassVar[int] = 500
    push_batch_size: ClassVar[int] = 200

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(context)
        self.times = FileTimes(context.state)
        self.folder = DropFolder.at(context.base_url, self.times)

    # --- reads ----------------------------------------------------------------------------------
    def check(self) -> str:
        self.folder.require()
        counts = {table: len(self.folder.rows(table)) for table in ("outlets", "products", "customers")}
        sales = len(self.folder.sale_documents())
        return (f"drop folder {self.folder.path}: {counts['outlets']} outlets, {counts['products']} products, "
                f"{counts['customers']} customers, {sales} sales")

    def _all(self, entity_type: str) -> list[Entity]:
        self.times.load()
        records = self._read(entity_type)
        self.times.save()
        return records

    def _read(self, entity_type: str) -> list[Entity]:
        if entity_type == "product":
            return [convert.product(row) for row in self.folder.rows("products")]
        if entity_type == "customer":
            return [convert.customer(row) for row in self.folder.rows("customers")]
        if entity_type == "location":
            return [convert.outlet(row) for row in self.folder.rows("outlets")]
        if entity_type == "sale":
            documents = self.folder.sale_documents()
            self.times.forget("sales/", {where for _, where, _ in documents})
            return [convert.sale(doc, where, modified) for doc, where, modified in documents]
        raise Unsupported(f"a drop folder holds no {entity_type}")

    def fetch(self, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
        records = self._all(entity_type)
        if entity_type == "location":  # a short list, always read whole
            return Page(records=records, cursor=None, more=False)
        return page_after(records, cursor, self.context.page_size or self.max_page_size, since)

    def get(self, entity_type: str, record_id: str) -> Entity | None:
        return next((r for r in self._all(entity_type) if r.id == record_id), None)

    # --- writes (the export flows) ----------------------------------------------------------------
    def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        if entity_type not in ROW_WRITERS:
            raise Unsupported(f"the drop folder does not take {entity_type} records")
        table, to_row = ROW_WRITERS[entity_type]
        now = datetime.now(timezone.utc)
        with self.folder.lock:
            rows = [dict(row) for row in self.folder.rows(table)]
            by_id = {row["id"]: row for row in rows}
            # A row is known by its id, or by its natural key: a product's or customer's code, a
            # stock level's product and location.
            by_code = {_natural(row): row for row in rows if _natural(row)}
            results = []
            for o in records:
                entity = o.entity
                assert isinstance(entity, (Product, Customer, StockLevel))
                natural = (f"{entity.product_id}@{entity.location_id}" if isinstance(entity, StockLevel)
                           else entity.code)
                if not natural:
                    results.append(PushResult(o.source_id, "failed", error=RecordRejected(
                        f"{entity_type} {o.source_key} has no code", key=o.source_key,
                        fix="give it a code in the source system")))
                    continue
                # The same id again (a retry), or a row that already has this code: update it in
                # place, so writing twice never leaves two rows.
                current = by_id.get(o.target_id) or by_code.get(natural)
                row = to_row(entity, current["id"] if current else o.target_id, now)
                if current is None:
                    rows.append(row)
                    by_id[row["id"]] = by_code[natural] = row
                    results.append(PushResult(o.source_id, "created", target_id=row["id"]))
                    continue
                allowed = None if o.update_fields is None else {
                    convert.COLUMNS[f] for f in o.update_fields if f in convert.COLUMNS}
                current.update({k: v for k, v in row.items()
                                if allowed is None or k in allowed or k in {"id", "updated_at"}})
                results.append(PushResult(o.source_id, "updated", target_id=current["id"]))
            self.folder.replace_rows(table, rows)
        return results


def _natural(row: dict[str, str]) -> str:
    if "product_id" in row:
        return f"{row['product_id']}@{row['location_id']}" if row.get("product_id") else ""
    return row.get("code", "")


__all__ = ["CsvFolderConnector"]

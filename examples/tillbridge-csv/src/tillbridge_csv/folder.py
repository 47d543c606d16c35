"""The drop folder on disk: CSV tables and one JSON document per sale.

Layout (``write_sample`` in ``sample.py`` writes one)::

    outlets.csv      id,name,code
    products.csv     id,code,description,sell_price,cost_price,barcode,obsolete,updated_at
    customers.csv    id,code,name,first_name,last_name,email,phone,company_name,obsolete,updated_at
    sales/*.json     {"id", "number", "outlet_id", "status", "date", "lines": [...], ...}
    stock.csv        id,product_id,location_id,on_hand,available,updated_at   (written by the flow csv_stock)

Rows without ``updated_at`` take their file's time: when a file changes every such row looks
changed, and tillbridge's fingerprints skip the ones whose content did not. The time is the one
``stamp`` gives (the connector's keeps a file saved again unchanged at its old time; see
``stamps.py``); without it, the modification time.
Writes replace a table atomically (a temporary file, then ``os.replace``) under a per-folder
lock, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlparse

from tillbridge import ConfigError

TABLES: dict[str, tuple[str, ...]] = {
    "outlets": ("id", "name", "code"),
    "products": ("id", "code", "description", "sell_price", "cost_price", "barcode", "obsolete", "updated_at"),
    "customers": ("id", "code", "name", "first_name", "last_name", "email", "phone", "company_name", "obsolete",
                  "updated_at"),
    "stock": ("id", "product_id", "location_id", "on_hand", "available", "updated_at"),
}
SALES_DIR = "sales"

#: ``stamp(name, content, mtime)`` → the time the rows of file ``name`` take.
Stamp = Callable[[str, bytes, datetime], datetime]

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


class Row(dict[str, str]):
    """One CSV row, remembering where it came from (for error messages) and its file's time."""

    def __init__(self, values: dict[str, str], *, where: str, modified: datetime) -> None:
        super().__init__(values)
        self.where = where
        self.modified = modified


class DropFolder:
    """Reads and writes one drop folder."""

    def __init__(self, path: Path, stamp: Stamp | None = None) -> None:
        self.path = path
        self.stamp: Stamp = stamp or (lambda name, content, mtime: mtime)
        with _locks_guard:
            self.lock = _locks.setdefault(path.resolve(), threading.Lock())

    @classmethod
    def at(cls, location: str, stamp: Stamp | None = None) -> "DropFolder":
        """The folder a connection's URL names: a path or a ``file://`` URL."""
        if location.startswith("file:"):
            location = unquote(urlparse(location).path)
        if not location:
            raise ConfigError("the CSV connector needs a folder",
                              fix="give it as the connection's URL: `--pos-url /path/to/folder`")
        return cls(Path(location).expanduser(), stamp)

    def require(self) -> None:
        if not self.path.is_dir():
            raise ConfigError(f"the drop folder {self.path} does not exist",
                              fix="create it, or point the connection at another folder")

    # --- tables ---------------------------------------------------------------------------------
    def rows(self, table: str) -> list[Row]:
        """Every row of ``table`` (no file: no rows)."""
        self.require()
        path = self.path / f"{table}.csv"
        if not path.exists():
            return []
        content = path.read_bytes()
        modified = self.stamp(path.name, content, _mtime(path))
        with io.StringIO(content.decode("utf-8-sig"), newline="") as handle:
            reader = csv.DictReader(handle)
            return [Row({k: (v or "").strip() for k, v in raw.items() if k}, where=f"{path.name} line {reader.line_num}",
                        modified=modified) for raw in reader]

    def replace_rows(self, table: str, rows: list[dict[str, str]]) -> None:
        """Write ``table`` anew, atomically. Call with ``self.lock`` held."""
        self.require()
        fields = TABLES[table]
        handle = tempfile.NamedTemporaryFile("w", newline="", encoding="utf-8", dir=self.path,
                                             prefix=f".{table}-", suffix=".csv", delete=False)
        try:
            with handle:
                writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
                writer.writeheader()
                writer.writerows(rows)
            os.replace(handle.name, self.path / f"{table}.csv")
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise

    # --- sales ----------------------------------------------------------------------------------
    def sale_documents(self) -> list[tuple[dict[str, Any], str, datetime]]:
        """``(document, file name, modified)`` for every ``sales/*.json``."""
        self.require()
        folder = self.path / SALES_DIR
        found = []
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            name = f"{SALES_DIR}/{path.name}"
            content = path.read_bytes()
            try:
                document = json.loads(content.decode("utf-8"))
            except ValueError as exc:
                raise ConfigError(f"{SALES_DIR}/{path.name} is not valid JSON: {exc}",
                                  fix="fix or remove the file; the sales flow resumes where it stopped") from None
            if not isinstance(document, dict):
                raise ConfigError(f"{SALES_DIR}/{path.name} must hold one JSON object (a sale)")
            found.append((document, name, self.stamp(name, content, _mtime(path))))
        return found


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)


__all__ = ["SALES_DIR", "TABLES", "DropFolder", "Row", "Stamp"]

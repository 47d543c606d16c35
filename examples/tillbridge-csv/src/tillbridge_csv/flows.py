"""The plugin's own flow and its switch: stock levels written into the drop folder.

``csv_stock`` reads the inventory system's stock levels of the mapped warehouses and writes them
into ``stock.csv`` (one row per product and outlet), for whoever works from the folder. It runs
after ``sales`` and ``export_products`` (``after=``): the levels then include what the sales just
imported took, and products exported to the folder in the same pass have their rows. A level of a
product the folder does not have is held (in the connection log) until ``export_products`` writes
it. The core ``stock`` flow (``export_stock``) writes the same file with till sales subtracted;
turn on one.
"""

from __future__ import annotations

from tillbridge import Flow, SettingSpec

STOCK_SWITCH = "csv_stock_file"

STOCK_FLOW = Flow(
    "csv_stock", "stock", "inventory", "pos", switch=STOCK_SWITCH, interval_setting="interval_stock",
    after=("sales", "export_products"), interval=300.0,
    description="Stock levels of the mapped warehouses are written to stock.csv of the drop folder, after the sales",
)

STOCK_SETTING = SettingSpec(
    STOCK_SWITCH, "bool", False,
    "Write the inventory's stock levels into stock.csv of the drop folder after each sync (flow csv_stock).",
    group="export", label="Stock levels into the drop folder", after="export_stock",
)

__all__ = ["STOCK_FLOW", "STOCK_SETTING", "STOCK_SWITCH"]

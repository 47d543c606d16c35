"""What an administrator can do, once: the CLI, the web console and the daemon all call these.

No logic lives in the CLI or the console beyond parsing input and showing results. This module
is the one door callers (and plugins) import; the operations live by subject:

- :mod:`.connections`: connections, their systems and credentials (``check_credentials``), and
  the outlet → warehouse mapping (``reload_locations``, ``map_outlet``, ``mappings``...).
- :mod:`.configure`: ``set_settings`` with the remote checks of settings, and ``read_all``.
- :mod:`.syncing`: running flows (``sync_once``, ``import_since``, ``export_products``,
  ``reimport``), ``describe``, the log's retention (``prune_log``) and ``parse_date``.
"""

from __future__ import annotations

from .configure import SettingsChange, read_all, set_settings
from .connections import (LocationCounts, add_connection, check_credentials, find_location, map_outlet,
                          mappings, reload_locations, save_credentials, set_system, unmap_outlet)
from .syncing import (NOUNS, ProgressFactory, describe, export_products, flow_for_import, import_since,
                      ordered_flows, parse_date, prune_log, reimport, sync_once)

__all__ = [
    "NOUNS", "LocationCounts", "ProgressFactory", "SettingsChange", "add_connection",
    "check_credentials", "describe", "export_products", "find_location", "flow_for_import", "import_since",
    "map_outlet", "mappings", "ordered_flows", "parse_date", "prune_log", "read_all", "reimport",
    "reload_locations", "save_credentials", "set_settings", "set_system", "sync_once", "unmap_outlet",
]

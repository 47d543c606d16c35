"""The core's own hook implementations: defaults any plugin can override.

Registered by the app as the plugin ``tillbridge.defaults``. Data-plane defaults are
``trylast`` so that a plugin answering first wins.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable, Sequence

from .connector import Connector, Outgoing, Page, PushResult
from .entities import StockLevel
from .flows import CORE_FLOWS, Flow
from .hookspecs import hookimpl
from .settings import CORE_SETTINGS, SettingSpec

if TYPE_CHECKING:
    from .app import App


class CoreDefaults:
    def __init__(self, app: App) -> None:
        self.app = app

    @hookimpl
    def register_flows(self, register: Callable[[Flow], None]) -> None:
        for flow in CORE_FLOWS:
            register(flow)

    @hookimpl
    def register_settings(self, register: Callable[[SettingSpec], None]) -> None:
        for spec in CORE_SETTINGS:
            register(spec)

    @hookimpl(trylast=True)
    def fetch_entities(
        self, connector: Connector, entity_type: str, cursor: str | None, since: datetime | None
    ) -> Page:
        return connector.fetch(entity_type, cursor, since=since)

    @hookimpl(trylast=True)
    def push_entities(self, connector: Connector, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        return connector.push(entity_type, records)

    @hookimpl(trylast=True)
    def map_location(self, connection: str, location_id: str, from_system: str, to_system: str) -> str | None:
        """The stored outlet↔warehouse map, read in whichever direction is asked."""
        runtime = self.app.runtime(connection)
        mapping = runtime.location_map()
        pos = runtime.system_of("pos")
        inventory = runtime.system_of("inventory")
        if from_system == pos and to_system == inventory:
            return mapping.get(location_id)
        if from_system == inventory and to_system == pos:
            reverse = {w: o for o, w in mapping.items()}
            return reverse.get(location_id)
        return None

    @hookimpl(trylast=True)
    def compute_available(
        self, connector: Connector, levels: Sequence[StockLevel], include_assembled: bool
    ) -> list[StockLevel]:
        """Available = on hand − allocated (what Unleashed calls AvailableQty without assembly)."""
        return [lvl.model_copy(update={"available": lvl.on_hand - lvl.allocated}) for lvl in levels]

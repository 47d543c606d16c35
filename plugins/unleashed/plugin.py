"""The Unleashed plugin, found through the ``tillbridge`` entry-point group."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, cast

import click

from tillbridge import Connector, SettingSpec, StockLevel, hookimpl

from .availability import buildable, tree

if TYPE_CHECKING:
    from .connector import UnleashedConnector



@hookimpl
def register_connectors(register: Callable[[type], None]) -> None:
    from .connector import UnleashedConnector

    register(UnleashedConnector)


@hookimpl
def register_emulators(register: Callable[[type], None]) -> None:
    from .emulator import UnleashedEmulator

    register(UnleashedEmulator)


@hookimpl
def register_settings(register: Callable[[SettingSpec], None]) -> None:
    from .connector import DEFAULT_PUSH_CONCURRENCY, PUSH_CONCURRENCY
    from .settings import SETTINGS

    for spec in SETTINGS:
        register(spec)
    register(SettingSpec(
        PUSH_CONCURRENCY, "int", DEFAULT_PUSH_CONCURRENCY,
        "Writes sent to Unleashed at once (products, customers, sales orders of different warehouses; one "
        "warehouse's orders always go in turn). Unleashed documents no limit of calls in flight, only calls "
        "per minute: the default is conservative.", minimum=1, group="sales", advanced=True,
        label="Unleashed writes sent at once",
    ))


@hookimpl
def register_commands(cli: click.Group) -> None:
    from .commands import register

    connect = cli.commands.get("connect")
    if isinstance(connect, click.Group):
        register(connect)


@hookimpl
def compute_available(connector: Connector, levels: Sequence[StockLevel], include_assembled: bool) -> list[StockLevel] | None:
    """On hand − allocated, plus what auto-assembly bills of materials could build."""
    if connector.system != "unleashed":
        return None
    result = {lvl.id: lvl.model_copy(update={"available": lvl.on_hand - lvl.allocated}) for lvl in levels}
    if not include_assembled or not levels:
        return list(result.values())
    boms = _auto_assembly_boms(connector)
    if not boms:
        return list(result.values())
    touched = {lvl.product_id for lvl in levels}
    for warehouse in sorted({lvl.location_id for lvl in levels}):
        kits = [k for k in boms if k in touched or tree(k, boms) & touched]
        if not kits:
            continue
        involved = set(kits).union(*(tree(k, boms) for k in kits))
        unleashed = cast("UnleashedConnector", connector)  # its system is "unleashed" (checked above)
        rows: dict[Any, dict[str, Any]] = {r.get("ProductGuid") or r.get("Guid"): r
                                           for r in unleashed.stock_for(warehouse, sorted(involved))}
        pool = {pid: Decimal(str(r.get("QtyOnHand") or 0)) - Decimal(str(r.get("AllocatedQty") or 0))
                for pid, r in rows.items()}
        for kit in kits:
            extra = Decimal(buildable(kit, boms, pool))
            key = f"{kit}@{warehouse}"
            current = result.get(key)
            if current is None:
                row = rows.get(kit, {})
                on_hand = Decimal(str(row.get("QtyOnHand") or 0))
                allocated = Decimal(str(row.get("AllocatedQty") or 0))
                current = StockLevel(id=key, product_id=kit, location_id=warehouse, on_hand=on_hand,
                                     allocated=allocated, available=on_hand - allocated,
                                     product_code=row.get("ProductCode"))
            result[key] = current.model_copy(update={"available": current.available + extra})
    return list(result.values())


def _auto_assembly_boms(connector: Connector) -> dict[str, list[tuple[str, Decimal]]]:
    from .connector import UnleashedConnector

    assert isinstance(connector, UnleashedConnector)
    return connector.auto_assembly_boms()


@hookimpl
def demo_scenario(emulators: Mapping[str, Any], stage: str) -> None:
    from .demo import play

    if "unleashed" in emulators:
        play(emulators["unleashed"], stage)


# --- webhooks (tillbridge run) ------------------------------------------------------------------
@hookimpl
def register_webhook_handlers(register: Callable[[Any], None]) -> None:
    from .webhooks import UnleashedWebhooks

    register(UnleashedWebhooks())



@hookimpl
def fetch_dated(connector: Connector, entity_type: str, start: Any, end: Any, references: Sequence[str]) -> Any:
    from .connector import UnleashedConnector
    from .dated import orders_of_day

    if not isinstance(connector, UnleashedConnector) or entity_type != "sales_order":
        return None
    return orders_of_day(connector, start, end, references)

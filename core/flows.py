"""Flows: what moves from the system in one role of a connection to the system in another.

A flow names roles, not vendors, so the engine stays vendor-free: ``products`` moves products from
whatever fills the ``pos`` role to whatever fills ``inventory``. Plugins add flows of their own
(the accounting plugin adds ``invoices``) through ``register_flows``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Flow:
    """One direction of one entity type.

    :param name: unique id, used for cursors, schedules and the log (``"sales"``).
    :param entity_type: what is fetched from the source (and pushed, unless ``target_entity_type``).
    :param source_role: role of the system read (``"pos"``).
    :param target_role: role of the system written (``"inventory"``).
    :param switch: boolean setting that must be on for the flow to run (``None``: always on).
    :param interval_setting: setting that holds the polling interval in seconds.
    :param master_fields: fields that only the master system may overwrite on existing records;
        the ``product_master`` setting decides who the master is.
    :param description: one line for ``tillbridge flows`` and the console.
    """

    name: str
    entity_type: str
    source_role: str
    target_role: str
    switch: str | None = None
    interval_setting: str | None = None
    master_fields: frozenset[str] = frozenset()
    description: str = ""


PRODUCT_DETAIL_FIELDS = frozenset({"sell_price", "notes", "description"})

CORE_FLOWS: tuple[Flow, ...] = (
    Flow("products", "product", "pos", "inventory", interval_setting="interval_products",
         master_fields=PRODUCT_DETAIL_FIELDS, description="New and changed POS products become inventory products"),
    Flow("opening_stock", "stock", "pos", "inventory", switch="import_opening_stock",
         interval_setting="interval_products",
         description="Stock on hand of newly imported products is taken from the POS once, with its value"),
    Flow("customers", "customer", "pos", "inventory", interval_setting="interval_customers",
         description="New and changed POS customers become inventory customers"),
    Flow("sales", "sale", "pos", "inventory", interval_setting="interval_sales",
         description="Closed POS sales become sales orders in the mapped warehouse"),
    Flow("export_customers", "customer", "inventory", "pos", switch="export_customers",
         interval_setting="interval_customers", description="Inventory customers are exported to the POS"),
    Flow("export_products", "product", "inventory", "pos", switch="export_products",
         interval_setting="interval_products", master_fields=PRODUCT_DETAIL_FIELDS,
         description="Inventory products are exported to the POS"),
    Flow("stock", "stock", "inventory", "pos", switch="export_stock", interval_setting="interval_stock",
         description="Available stock (on hand − allocated) is set on the POS outlets"),
)

"""``tillbridge connect unleashed``: API id and key, checked with one signed call before saving."""

from __future__ import annotations

from typing import Any

import click


def register(connect: click.Group) -> None:
    @connect.command("unleashed")
    @click.option("--connection", "-c", "connection_name", default="main", show_default=True)
    @click.option("--api-id", envvar="UNLEASHED_API_ID", prompt="Unleashed API id")
    @click.option("--api-key", envvar="UNLEASHED_API_KEY", prompt="Unleashed API key", hide_input=True)
    @click.option("--base-url", default=None, help="API base URL (default https://api.unleashedsoftware.com, "
                                                    "or an emulator's URL).")
    @click.pass_obj
    def connect_unleashed(state: Any, connection_name: str, api_id: str, api_key: str, base_url: str | None) -> None:
        """Connect an Unleashed account with its API id and key."""
        from tillbridge import UnknownConnection, services

        from .connector import UnleashedConnector

        app = state.app
        try:
            conn = app.store.connection(connection_name)
        except UnknownConnection:
            conn = None
        current = app.store.systems(conn.id).get("inventory") if conn is not None else None
        base = base_url or (current.base_url if current is not None and current.system == "unleashed"
                            else UnleashedConnector.default_base_url)
        values = {"api_id": api_id.strip(), "api_key": api_key.strip()}
        # Notes §1: one signed call proves the id and key; nothing is saved when it is refused.
        description = services.check_credentials(app, connection_name, "unleashed", base, values)
        if conn is None:
            services.add_connection(app, connection_name, {"inventory": ("unleashed", base)})
        else:
            services.set_system(app, connection_name, "inventory", "unleashed", base)
        services.save_credentials(app, connection_name, "unleashed", values, check=False)
        click.echo(f"Connected: {description}. Next: `tillbridge warehouses -c {connection_name}`.")

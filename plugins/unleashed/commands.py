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

        app = state.app
        try:
            conn = app.store.connection(connection_name)
        except UnknownConnection:
            conn = services.add_connection(app, connection_name, {"inventory": ("unleashed", base_url)})
        if base_url or "inventory" not in app.store.systems(conn.id):
            services.set_system(app, connection_name, "inventory", "unleashed", base_url)
        description = services.save_credentials(app, connection_name, "unleashed",
                                                {"api_id": api_id.strip(), "api_key": api_key.strip()})
        click.echo(f"Connected: {description}. Next: `tillbridge warehouses -c {connection_name}`.")

"""``tillbridge connect unleashed``: API id and key, checked with one signed call before saving."""

from __future__ import annotations

import click

from tillbridge.cli import CliState, pass_state


def register(connect: click.Group) -> None:
    @connect.command("unleashed")
    @click.option("--connection", "-c", "connection_name", default="main", show_default=True)
    @click.option("--api-id", envvar="UNLEASHED_API_ID", prompt="Unleashed API id")
    @click.option("--api-key", envvar="UNLEASHED_API_KEY", prompt="Unleashed API key", hide_input=True)
    @click.option("--base-url", default=None, help="API base URL (default https://api.unleashedsoftware.com, "
                                                    "or an emulator's URL).")
    @pass_state
    def connect_unleashed(state: CliState, connection_name: str, api_id: str, api_key: str,
                          base_url: str | None) -> None:
        """Connect an Unleashed account with its API id and key."""
        from .connector import UnleashedConnector

        admin = state.admin
        current = admin.find_connection(connection_name)
        base = (base_url or (current.base_url_of("inventory", "unleashed") if current is not None else None)
                or UnleashedConnector.default_base_url)
        values = {"api_id": api_id.strip(), "api_key": api_key.strip()}
        # https://apidocs.unleashedsoftware.com/AuthenticationHelp: one signed call proves the id and key; nothing is
        # saved when it is refused.
        description = admin.check_credentials(connection_name, "unleashed", base, values)
        admin.ensure_system(connection_name, "inventory", "unleashed", base)
        admin.save_credentials(connection_name, "unleashed", values, check=False)
        click.echo(f"Connected: {description}. Next: `tillbridge warehouses -c {connection_name}`.")

"""``tillbridge connect lightspeed``: install the app (OAuth 2.0) or use a personal token."""

from __future__ import annotations

from typing import Any

import click

from tillbridge import ConfigError
from tillbridge.admin import Admin
from tillbridge.cli import CliState, pass_state
from tillbridge.oauth import authorize_in_browser

from . import oauth
from .oauth import DEFAULT_HOST


def register(connect: click.Group) -> None:
    @connect.command("lightspeed")
    @click.option("--connection", "-c", "connection_name", default="main", show_default=True)
    @click.option("--base-url", default=None, help="Store API base URL, e.g. https://mystore.retail.lightspeed.app "
                                                    "(or an emulator's URL).")
    @click.option("--domain-prefix", default=None, help="Store domain prefix (sets the base URL).")
    @click.option("--personal-token", default=None, envvar="LIGHTSPEED_PERSONAL_TOKEN",
                  help="Use a personal token instead of installing the app.")
    @click.option("--client-id", envvar="LIGHTSPEED_CLIENT_ID", default=None)
    @click.option("--client-secret", envvar="LIGHTSPEED_CLIENT_SECRET", default=None)
    @click.option("--authorize-url", default=None, help="Authorize page (default: Lightspeed's, or the emulator's).")
    @click.option("--port", default=0, help="Loopback port for the redirect (0: any).")
    @click.option("--no-browser", is_flag=True, help="Print the address instead of opening a browser.")
    @pass_state
    def connect_lightspeed(state: CliState, connection_name: str, base_url: str | None, domain_prefix: str | None,
                           personal_token: str | None, client_id: str | None, client_secret: str | None,
                           authorize_url: str | None, port: int, no_browser: bool) -> None:
        """Install the tillbridge app on a Lightspeed store (OAuth 2.0), or use a personal token."""
        admin = state.admin
        if base_url is None and domain_prefix:
            base_url = DEFAULT_HOST.format(domain_prefix=domain_prefix)
        base = base_url or _current_base_url(admin, connection_name) or DEFAULT_HOST
        if personal_token:
            if "{domain_prefix}" in base:
                raise ConfigError("a personal token needs to know which store it opens",
                                  fix="pass --domain-prefix (e.g. mystore) or --base-url")
            values: dict[str, Any] = {"personal_token": personal_token.strip(), "domain_prefix": domain_prefix}
        else:
            if not client_id or not client_secret:
                raise ConfigError("installing the app needs the app's client id and secret",
                                  fix="pass --client-id/--client-secret (or LIGHTSPEED_CLIENT_ID/SECRET), "
                                      "or use --personal-token")
            authorize = authorize_url or oauth.authorize_page(base)

            def build(redirect_uri: str, state_value: str) -> str:
                return oauth.authorize_url(authorize, client_id=client_id, redirect_uri=redirect_uri, state=state_value)

            params, redirect_uri = authorize_in_browser(build, port=port, open_browser=not no_browser,
                                                        announce=click.echo)
            base = oauth.store_base(base, params)
            values = oauth.exchange_code(oauth.token_url(base), params["code"], client_id, client_secret, redirect_uri)
        # One call with the new credentials before anything is saved: a refused token leaves
        # the connection as it was (https://x-series-api.lightspeedhq.com/docs/authorization: both kinds of
        # token are Bearer tokens).
        description = admin.check_credentials(connection_name, "lightspeed", base, values)
        admin.ensure_system(connection_name, "pos", "lightspeed", base)
        admin.save_credentials(connection_name, "lightspeed", values, check=False)
        click.echo(f"Connected: {description}. Next: `tillbridge outlets reload -c {connection_name}`.")


def _current_base_url(admin: Admin, name: str) -> str | None:
    current = admin.find_connection(name)
    return current.base_url_of("pos", "lightspeed") if current is not None else None

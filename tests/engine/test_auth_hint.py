"""A refused credential (HTTP 401/403) tells the person the command that reconnects the system:
one that exists, spelled as typed (lowercase), and claiming nothing about how the system signs in
(Lightspeed has no API key: its command installs an OAuth app)."""

from __future__ import annotations

import httpx
import pytest

from tillbridge import AuthError, check_response
from tillbridge.cli.main import build_cli

#: The name each built-in connector passes to ``check_response``, and its system.
TITLES = {"Lightspeed": "lightspeed", "Unleashed": "unleashed", "Xero": "xero", "QuickBooks": "quickbooks"}


def refusal(title: str, status: int = 401) -> AuthError:
    response = httpx.Response(status, text="no", request=httpx.Request("GET", "https://example.test/x"))
    with pytest.raises(AuthError) as caught:
        check_response(response, title, what="reading products")
    return caught.value


@pytest.mark.parametrize("title", sorted(TITLES))
def test_the_hint_names_an_existing_lowercase_connect_command(title: str) -> None:
    fix = refusal(title).fix or ""
    system = TITLES[title]
    assert f"`tillbridge connect {system}`" in fix
    connect = build_cli().commands["connect"]
    assert system in connect.commands  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [401, 403])
def test_the_lightspeed_hint_does_not_ask_for_an_api_key(status: int) -> None:
    error = refusal("Lightspeed", status)
    assert "api key" not in (error.fix or "").lower()
    assert "HTTP " + str(status) in str(error)

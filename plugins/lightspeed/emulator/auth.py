"""OAuth 2.0 authorization-code grant, refresh rotation and personal tokens
(https://x-series-api.lightspeedhq.com/docs/authorization)."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from tillbridge.emulation import ScaledClock

from .options import LightspeedOptions
from .wallclock import to_wall_time

#: App name under which personal-token calls are counted for rate limiting.
PERSONAL_APP = "personal"
#: Granted when /connect asks for no scope (names from the docs' scopes page,
#: https://x-series-api.lightspeedhq.com/docs/scopes).
DEFAULT_SCOPE = (
    "products:read products:write inventory:read inventory:write outlets:read registers:read "
    "sales:read sales:write customers:read customers:write taxes:read payment_types:read "
    "users:read retailer:read webhooks"
)


class OAuthError(Exception):
    """A refused token request: 400 with ``{"error": code}`` (RFC 6749 §5.2 error codes)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scope: str
    expires_at: float  # emulated
    used: bool = False


@dataclass
class _AccessGrant:
    app: str
    scope: str
    expires_at: float  # emulated
    refresh_token: str


@dataclass
class _RefreshGrant:
    app: str
    scope: str
    access_token: str


def redirect_uri_allowed(uri: str, registered: list[str] | None) -> bool:
    """Exact match with a registered URI (https://x-series-api.lightspeedhq.com/docs/authorization); with none
    registered, any loopback URI."""
    if registered is not None:
        return uri in registered
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost"} and port is not None


class TokenStore:
    def __init__(self, options: LightspeedOptions, clock: ScaledClock) -> None:
        self._opts = options
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _AccessGrant] = {}
        self._refresh: dict[str, _RefreshGrant] = {}

    # --- the authorize step -----------------------------------------------------------------
    def new_code(self, client_id: str, redirect_uri: str, scope: str) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                client_id, redirect_uri, scope or DEFAULT_SCOPE, self._clock.time() + self._opts.authorization_code_ttl
            )
        return code

    # --- the token endpoint -------------------------------------------------------------------
    def token_request(self, form: dict[str, str]) -> dict[str, object]:
        grant_type = form.get("grant_type", "")
        if grant_type not in {"authorization_code", "refresh_token"}:
            raise OAuthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
        if form.get("client_id") != self._opts.client_id or not secrets.compare_digest(
            form.get("client_secret", ""), self._opts.client_secret
        ):
            # RFC 6749 would allow 401 for invalid_client; the emulator answers 400 like the
            # other token errors (callers read the ``error`` field).
            raise OAuthError("invalid_client", "unknown client or wrong client secret")
        if grant_type == "authorization_code":
            return self._exchange_code(form)
        return self._refresh_tokens(form)

    def _exchange_code(self, form: dict[str, str]) -> dict[str, object]:
        with self._lock:
            pending = self._codes.get(form.get("code", ""))
            if pending is None or pending.used or pending.expires_at <= self._clock.time():
                raise OAuthError("invalid_grant", "authorization code is invalid, expired or already used")
            if pending.client_id != form.get("client_id") or pending.redirect_uri != form.get("redirect_uri"):
                raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
            pending.used = True  # single use (https://x-series-api.lightspeedhq.com/docs/authorization)
        return self.issue(pending.client_id, pending.scope)

    def _refresh_tokens(self, form: dict[str, str]) -> dict[str, object]:
        with self._lock:
            grant = self._refresh.pop(form.get("refresh_token", ""), None)
            if grant is None:
                raise OAuthError("invalid_grant", "refresh token is invalid or was already used")
            # Rotation (https://x-series-api.lightspeedhq.com/docs/authorization, INFERRED as safest): the old refresh
            # token and the access token it went with stop working.
            self._access.pop(grant.access_token, None)
        return self.issue(grant.app, grant.scope)

    # --- issuing and checking -------------------------------------------------------------------
    def issue(self, app: str, scope: str = DEFAULT_SCOPE) -> dict[str, object]:
        if app == PERSONAL_APP:
            return self._personal_response()
        access, refresh = f"lsxs_at_{secrets.token_urlsafe(30)}", f"lsxs_rt_{secrets.token_urlsafe(30)}"
        expires_at = self._clock.time() + self._opts.access_token_ttl
        with self._lock:
            self._access[access] = _AccessGrant(app, scope, expires_at, refresh)
            self._refresh[refresh] = _RefreshGrant(app, scope, access)
        # ``expires``/``expires_in`` name the real moment the emulated lifetime ends, so a
        # client that refreshes ahead of expiry does so at the right time at any time scale.
        wall = to_wall_time(self._clock, expires_at)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires": int(wall),
            "expires_in": int(self._clock.real_seconds(self._opts.access_token_ttl)),
            "refresh_token": refresh,
            "domain_prefix": self._opts.domain_prefix,
            "scope": scope,
        }

    def _personal_response(self) -> dict[str, object]:
        return {
            "access_token": self._opts.personal_token,
            "token_type": "Bearer",
            "domain_prefix": self._opts.domain_prefix,
        }

    def app_for(self, token: str | None) -> str | None:
        """The app a bearer token belongs to, or None when missing, unknown or expired."""
        if not token:
            return None
        if secrets.compare_digest(token, self._opts.personal_token):
            return PERSONAL_APP
        with self._lock:
            grant = self._access.get(token)
            if grant is None:
                return None
            if grant.expires_at <= self._clock.time():
                del self._access[token]
                return None
            return grant.app

    def revoke_all(self) -> None:
        """Forget every code, access and refresh token (the personal token stays valid)."""
        with self._lock:
            self._codes.clear()
            self._access.clear()
            self._refresh.clear()

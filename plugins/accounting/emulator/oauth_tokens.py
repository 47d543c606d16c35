"""An OAuth 2.0 authorisation server's memory: codes, consents, access and refresh tokens.

Both accounting vendors use the authorisation-code grant with rotating refresh tokens; they
differ in lifetimes and in how long a rotated refresh token keeps working, which the
constructor takes as parameters. All times are emulated seconds from the emulator's clock, so
a test can expire a token by advancing the clock instead of waiting.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from tillbridge.emulation import ScaledClock


class OAuthError(Exception):
    """An RFC 6749 §5.2 error code (``invalid_grant``, ``invalid_client``...)."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.description = description


class TokenRejected(Exception):
    """A bearer token that does not authorise anything; ``reason`` is ``expired`` or ``invalid``."""

    def __init__(self, reason: str, expired_at: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired_at = expired_at


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    issued_at: float
    extra: dict[str, Any]
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    used: bool = False


@dataclass
class Grant:
    """One consent: a Xero auth event or a QuickBooks company connection."""

    grant_id: str
    client_id: str
    scope: str
    extra: dict[str, Any] = field(default_factory=dict)
    revoked: bool = False


@dataclass
class AccessToken:
    token: str
    grant_id: str
    issued_at: float
    expires_at: float


@dataclass
class RefreshToken:
    token: str
    grant_id: str
    issued_at: float
    expires_at: float
    rotated_at: float | None = None
    revoked: bool = False


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    expires_in: int
    refresh_token: str | None
    refresh_expires_in: int | None
    grant: Grant


AccessFormatter = Callable[[Grant, float, float], str]


def _opaque(grant: Grant, issued_at: float, expires_at: float) -> str:
    return secrets.token_urlsafe(32)


def pkce_matches(verifier: str, challenge: str, method: str | None) -> bool:
    if (method or "plain").upper() == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge
    return verifier == challenge


class TokenStore:
    """Thread-safe store of everything an authorisation server hands out."""

    def __init__(
        self,
        clock: ScaledClock,
        *,
        access_ttl: float,
        refresh_ttl: float,
        refresh_grace: float,
        code_ttl: float = 300.0,
        access_format: AccessFormatter = _opaque,
        refresh_format: Callable[[], str] = lambda: secrets.token_urlsafe(32),
        new_grant_id: Callable[[], str] | None = None,
    ) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.refresh_grace = refresh_grace
        self.code_ttl = code_ttl
        self._access_format = access_format
        self._refresh_format = refresh_format
        self._new_grant_id = new_grant_id or (lambda: secrets.token_hex(16))
        self._codes: dict[str, AuthCode] = {}
        self._grants: dict[str, Grant] = {}
        self._access: dict[str, AccessToken] = {}
        self._refresh: dict[str, RefreshToken] = {}

    # --- authorisation codes ---------------------------------------------------------------
    def issue_code(
        self,
        client_id: str,
        redirect_uri: str,
        scope: str,
        extra: dict[str, Any] | None = None,
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
    ) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = AuthCode(
                code, client_id, redirect_uri, scope, self._clock.time(), dict(extra or {}),
                code_challenge, code_challenge_method,
            )
        return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str, code_verifier: str | None) -> AuthCode:
        """Spend a code once. Reuse, expiry, or a different client/redirect → ``invalid_grant``."""
        with self._lock:
            found = self._codes.get(code)
            if found is None or found.used or found.client_id != client_id:
                raise OAuthError("invalid_grant")
            if self._clock.time() - found.issued_at > self.code_ttl:
                raise OAuthError("invalid_grant")
            if redirect_uri != found.redirect_uri:
                raise OAuthError("invalid_grant")
            if found.code_challenge is not None:
                if not code_verifier or not pkce_matches(code_verifier, found.code_challenge, found.code_challenge_method):
                    raise OAuthError("invalid_grant")
            found.used = True
            return found

    # --- grants and tokens ---------------------------------------------------------------------
    def new_grant(self, client_id: str, scope: str, extra: dict[str, Any] | None = None) -> Grant:
        grant = Grant(self._new_grant_id(), client_id, scope, dict(extra or {}))
        with self._lock:
            self._grants[grant.grant_id] = grant
        return grant

    def issue(self, grant: Grant, with_refresh: bool = True) -> TokenSet:
        now = self._clock.time()
        with self._lock:
            access = self._access_format(grant, now, now + self.access_ttl)
            self._access[access] = AccessToken(access, grant.grant_id, now, now + self.access_ttl)
            refresh: str | None = None
            if with_refresh:
                refresh = self._refresh_format()
                self._refresh[refresh] = RefreshToken(refresh, grant.grant_id, now, now + self.refresh_ttl)
        return TokenSet(
            access, int(self.access_ttl), refresh, int(self.refresh_ttl) if with_refresh else None, grant
        )

    def refresh(self, token: str, client_id: str) -> TokenSet:
        """Rotate: a new access *and* refresh token. The old refresh token keeps working for
        ``refresh_grace`` seconds after its first use, then answers ``invalid_grant``."""
        now = self._clock.time()
        with self._lock:
            found = self._refresh.get(token)
            grant = self._grants.get(found.grant_id) if found else None
            if found is None or grant is None or found.revoked or grant.revoked or grant.client_id != client_id:
                raise OAuthError("invalid_grant")
            if now >= found.expires_at:
                raise OAuthError("invalid_grant")
            if found.rotated_at is not None and now - found.rotated_at > self.refresh_grace:
                raise OAuthError("invalid_grant")
            if found.rotated_at is None:
                found.rotated_at = now
            return self.issue(grant, with_refresh=True)

    def authorise(self, token: str) -> tuple[Grant, AccessToken]:
        now = self._clock.time()
        with self._lock:
            found = self._access.get(token)
            grant = self._grants.get(found.grant_id) if found else None
            if found is None or grant is None or grant.revoked:
                raise TokenRejected("invalid")
            if now >= found.expires_at:
                raise TokenRejected("expired", found.expires_at)
            return grant, found

    def grant_of(self, token: str) -> Grant | None:
        """The consent behind an access or refresh token (for revocation endpoints)."""
        with self._lock:
            found: AccessToken | RefreshToken | None = self._refresh.get(token) or self._access.get(token)
            return self._grants.get(found.grant_id) if found else None

    def revoke_grant(self, grant_id: str) -> None:
        with self._lock:
            grant = self._grants.get(grant_id)
            if grant is not None:
                grant.revoked = True

    def revoke_all(self) -> None:
        with self._lock:
            for grant in self._grants.values():
                grant.revoked = True

    def counts(self) -> dict[str, int]:
        now = self._clock.time()
        with self._lock:
            live = {g for g, grant in self._grants.items() if not grant.revoked}
            return {
                "grants": len(live),
                "access_tokens_live": sum(1 for t in self._access.values() if t.grant_id in live and t.expires_at > now),
                "refresh_tokens": sum(1 for t in self._refresh.values() if t.grant_id in live and not t.revoked),
            }

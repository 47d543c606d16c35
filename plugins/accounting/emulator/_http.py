"""Small HTTP helpers shared by the accounting emulators (JSON bodies, client auth, redirect URIs)."""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Mapping
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from tillbridge.emulation import ScaledClock


def _default(value: Any) -> Any:
    # Both vendors send money as plain JSON numbers (Xero: ``40.0``, QuickBooks: ``40.00``), so a
    # Decimal leaves as a float; two- and four-place amounts survive that round trip unchanged.
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> bytes:
    return json.dumps(data, default=_default, separators=(",", ":")).encode()


def to_plain(data: Any) -> Any:
    """The JSON view of ``data`` (Decimals become numbers), for snapshots and Python callers."""
    return json.loads(dumps(data))


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(data), status_code=status, headers=dict(headers or {}), media_type="application/json")


async def read_json(request: Request) -> tuple[Any, bool]:
    """``(body, ok)``; ``ok`` is False when the body is not valid JSON."""
    raw = await request.body()
    if not raw.strip():
        return None, True
    try:
        return json.loads(raw, parse_float=Decimal), True
    except (ValueError, UnicodeDecodeError):
        return None, False


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """Client id and secret from an ``Authorization: Basic`` header, if one was sent."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def is_loopback_uri(uri: str) -> bool:
    """True for ``http(s)://localhost|127.x|[::1]...``: where a test or a desktop client listens."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    return parts.scheme in {"http", "https"} and (host == "localhost" or host.startswith("127.") or host == "::1")


def redirect_allowed(uri: str, allowed: list[str] | None) -> bool:
    """Registered redirect URIs must match exactly; ``None`` means "any loopback URI" (demo mode)."""
    if not uri:
        return False
    if allowed is None:
        return is_loopback_uri(uri)
    return uri in allowed


def retry_after_seconds(clock: ScaledClock, emulated_seconds: float) -> int:
    """Whole real seconds a client should wait: emulated time divided by the clock's scale.

    Never 0 while a wait remains, so a client that sleeps ``Retry-After`` seconds always waits.
    """
    if emulated_seconds <= 0:
        return 0
    return max(1, math.ceil(clock.real_seconds(emulated_seconds)))

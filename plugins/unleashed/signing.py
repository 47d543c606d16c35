"""The Unleashed request signature, shared by the connector (signs) and the emulator (verifies).

https://apidocs.unleashedsoftware.com/AuthenticationHelp: the ``api-auth-signature`` header is
``base64(HMAC-SHA256(key=api_key as UTF-8, message=query string as UTF-8))`` where the query
string is the part after ``?`` (without the ``?``), taken in the order it is sent, and the empty
string when the URL has no query. The page number lives in the path, so it is never signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import unquote, unquote_plus

__all__ = ["sign", "verify"]


def sign(query_string: str, api_key: str) -> str:
    """The ``api-auth-signature`` value for ``query_string`` (no leading ``?``)."""
    digest = hmac.new(api_key.encode("utf-8"), query_string.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _candidates(query_string: str, lenient: bool) -> list[str]:
    candidates = [query_string]
    if lenient:
        # https://apidocs.unleashedsoftware.com/AuthenticationHelp [?]: clients disagree on whether the raw (encoded) or
        # the percent-decoded query is signed (n8n signs the wire string, silvershop signs
        # PHP's urldecode() of it, which also turns '+' into a space). Lenient mode accepts both.
        for decoded in (unquote(query_string), unquote_plus(query_string)):
            if decoded not in candidates:
                candidates.append(decoded)
    return candidates


def verify(query_string: str, api_key: str, signature: str, *, lenient: bool = True) -> bool:
    """True when ``signature`` signs ``query_string`` (or, leniently, its decoded form)."""
    if not signature:
        return False
    presented = signature.strip().encode("ascii", "replace")
    return any(
        hmac.compare_digest(sign(candidate, api_key).encode("ascii"), presented)
        for candidate in _candidates(query_string, lenient)
    )

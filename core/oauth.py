"""The browser half of an OAuth 2.0 authorization-code flow, for CLI "install the app" commands.

Listens on a loopback port for the redirect (RFC 8252 §7.3: loopback redirect for native apps),
opens the authorize URL in a browser (or prints it), checks ``state`` and returns the callback's
query parameters. The token exchange is the connector's business.

Public (``from tillbridge.oauth import authorize_in_browser``): plugins' ``connect`` commands use it.
"""

from __future__ import annotations

import http.server
import secrets
import threading
import urllib.parse
import webbrowser
from typing import Callable

from .errors import AuthError, ConfigError

PAGE = b"""<!doctype html><title>tillbridge</title><body style="font-family:sans-serif">
<h1>Connected</h1><p>You can close this tab and return to tillbridge.</p></body>"""


class _Catcher(http.server.BaseHTTPRequestHandler):
    result: dict[str, str] | None = None
    got = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        if "code" in query or "error" in query:
            type(self).result = query
            type(self).got.set()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:  # keep codes out of the terminal
        return


def authorize_in_browser(
    build_url: Callable[[str, str], str],
    *,
    port: int = 0,
    timeout: float = 300.0,
    open_browser: bool = True,
    announce: Callable[[str], None] = print,
    visit: Callable[[str], None] | None = None,
) -> tuple[dict[str, str], str]:
    """Run the redirect half of the flow.

    :param build_url: ``(redirect_uri, state) -> authorize URL``.
    :param visit: instead of a browser, call this with the URL (tests and headless use).
    :return: the callback's query parameters and the redirect URI used.
    """
    class catcher(_Catcher):  # a class of its own per call: its answer is not shared
        result: dict[str, str] | None = None
        got = threading.Event()

    server = http.server.HTTPServer(("127.0.0.1", port), catcher)
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
    state = secrets.token_urlsafe(16)
    url = build_url(redirect_uri, state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        announce(f"Open this address to approve tillbridge:\n  {url}")
        if visit is not None:
            threading.Thread(target=visit, args=(url,), daemon=True).start()
        elif open_browser:
            webbrowser.open(url)
        if not catcher.got.wait(timeout):
            raise ConfigError("no answer from the authorization page in time",
                              fix="run the command again and approve the app in the browser")
    finally:
        server.shutdown()
        server.server_close()
    result = catcher.result or {}
    if result.get("error"):
        if result["error"] == "access_denied":
            raise AuthError("access was not allowed on the provider's page (access_denied)",
                            fix="run the command again and choose to allow access")
        raise AuthError(f"authorization refused: {result['error']}", fix="approve the app to connect it")
    if result.get("state") != state:
        raise AuthError("the authorization answer did not carry our state value (possible forgery)",
                        fix="run the command again")
    return result, redirect_uri


__all__ = ["authorize_in_browser"]

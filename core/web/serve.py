"""Running the console: ``tillbridge web`` and ``tillbridge demo --web``."""

from __future__ import annotations

import secrets
import socket
from typing import Callable, Mapping

import uvicorn

from ..app import App
from ..errors import ConfigError
from .access import has_password, is_loopback
from .console import create_console_app

DEFAULT_PORT = 8765


def exposure_warning(host: str, tls: bool) -> str | None:
    """What to tell the user when the console listens beyond this machine without TLS."""
    if tls or is_loopback(host):
        return None
    return (f"Warning: the console listens on {host} without TLS: the password and the session cookie "
            "cross the network in clear text. Use --certfile/--keyfile, or put it behind an HTTPS reverse "
            "proxy and bind it to 127.0.0.1.")


def bind(host: str, port: int | None, *, fallback: bool = False) -> socket.socket:
    """Open the listening socket now, so a taken port is a clear error (or, with ``fallback``, any port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, DEFAULT_PORT if port is None else port))
    except OSError as exc:
        if fallback and port is None:
            sock.bind((host, 0))
        else:
            sock.close()
            raise ConfigError(f"cannot listen on {host}:{port if port is not None else DEFAULT_PORT}: {exc.strerror}",
                              fix="choose another --port (or stop what uses that one)") from None
    sock.set_inheritable(True)
    return sock


def console_url(host: str, port: int, tls: bool) -> str:
    shown = f"[{host}]" if ":" in host else host
    if host in {"0.0.0.0", "::"}:
        shown = "127.0.0.1"
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def serve_console(
    app: App,
    *,
    demo_urls: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve the console until Ctrl-C.

    With ``demo_urls`` (the demo's emulators are running) the console prints a login link that
    works while this process runs, so a newcomer needs no password; without, an admin password
    must have been set (``tillbridge web set-password``).
    """
    say = announce or (lambda text: print(text, flush=True))
    tls = bool(certfile)
    if certfile and not keyfile:
        raise ConfigError("--certfile needs --keyfile")
    demo = demo_urls is not None
    if not demo and not has_password(app):
        raise ConfigError("no admin password is set for the web console",
                          fix="run `tillbridge web set-password` first")
    token = secrets.token_urlsafe(24) if demo else None
    web = create_console_app(app, demo_urls=demo_urls, login_token=token, https=tls)
    sock = bind(host, port, fallback=demo)
    url = console_url(host, sock.getsockname()[1], tls)
    warning = exposure_warning(host, tls)
    if warning:
        say(warning)
    if token:
        say(f"Web console: {url}/login?token={token}")
        say("(that link logs you in while this demo runs; the emulators keep running too)")
    else:
        say(f"Web console: {url}  (log in with the admin password)")
    say("Press Ctrl-C to stop.")
    config = uvicorn.Config(web, log_level="warning", access_log=False, lifespan="off",
                            ssl_certfile=certfile, ssl_keyfile=keyfile)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn re-raises the Ctrl-C it handled once it has shut down; stopping is the normal end
        say("Console stopped.")
    finally:
        sock.close()
        web.state.console.jobs.wait_all(timeout=5.0)

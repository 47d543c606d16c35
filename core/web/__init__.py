"""The web console for administrators (Starlette + Jinja2, htmx, SortableJS).

* :func:`create_console_app` builds the ASGI app (mount it in any server, e.g. the daemon's).
* :func:`serve_console` runs it until Ctrl-C (``tillbridge web``, ``tillbridge demo --web``).
* :func:`set_password` sets the admin password (``tillbridge web set-password``).
"""

from __future__ import annotations

from .access import has_password, set_password
from .console import create_console_app
from .serve import serve_console

__all__ = ["create_console_app", "has_password", "serve_console", "set_password"]

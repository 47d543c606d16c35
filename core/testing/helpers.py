"""Helpers usable with or without pytest: an app on a temporary database, a running emulator."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from cryptography.fernet import Fernet

from ..app import App
from ..emulation import BackgroundServer, Emulator
from ..plugins import Plugins


@contextmanager
def temporary_app(database_url: str | None = None, *, entry_points: bool = True,
                  plugins: Any = ()) -> Iterator[App]:
    """An :class:`App` on a fresh SQLite file (or ``database_url``), closed afterwards.

    :param plugins: extra ``(name, plugin)`` pairs to register besides the installed ones.
    """
    with tempfile.TemporaryDirectory(prefix="tillbridge-test-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'test.sqlite'}"
        app = App(url, plugins=Plugins(entry_points=entry_points, extra=plugins),
                  secret_key=Fernet.generate_key())
        try:
            yield app
        finally:
            app.close()


@contextmanager
def running_emulator(emulator: Emulator) -> Iterator[BackgroundServer]:
    """Serve ``emulator`` on a free loopback port for the duration of the block."""
    server = BackgroundServer(emulator).start()
    try:
        yield server
    finally:
        server.stop()
        close = getattr(emulator, "close", None)
        if callable(close):
            close()

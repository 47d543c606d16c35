"""Run an ASGI app (an emulator, the web console) on loopback in a background thread."""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from .faults import ConnectionDropped


class _HideDeliberateDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


logging.getLogger("uvicorn.error").addFilter(_HideDeliberateDrops())


class BackgroundServer:
    """uvicorn in a daemon thread. ``port=0`` picks a free port; ``url`` tells which."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *, keep_alive: int = 5) -> None:
        # keep_alive: seconds an idle connection stays open (uvicorn's default, 5 s)
        self._config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="off", access_log=False,
            timeout_keep_alive=keep_alive,
        )
        self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(target=self._server.run, name=f"server:{host}:{port}", daemon=True)
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> "BackgroundServer":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"server on {self.host}:{self.port} failed to start")
            if time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.host}:{self.port} did not start in {timeout}s")
            time.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.port = sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

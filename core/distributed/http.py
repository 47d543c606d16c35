"""A worker's small HTTP listener: ``/healthz`` (JSON) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..daemon.metrics import CONTENT_TYPE
from ..errors import ConfigError


class Listener:
    def __init__(self, health: Callable[[], tuple[dict[str, Any], int]], metrics: Callable[[], bytes],
                 host: str, port: int) -> None:
        self.health, self.metrics, self.host, self.port = health, metrics, host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def asgi(self) -> Starlette:
        async def healthz(request: Request) -> Response:
            body, status = await run_in_threadpool(self.health)
            return JSONResponse(body, status)

        async def metrics(request: Request) -> Response:
            return Response(await run_in_threadpool(self.metrics), media_type=CONTENT_TYPE)

        return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics)])

    @property
    def url(self) -> str:
        return f"http://{'127.0.0.1' if self.host in ('0.0.0.0', '') else self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        config = uvicorn.Config(self.asgi(), host=self.host, port=self.port, log_config=None, access_log=False,
                                lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        # Off the main thread uvicorn installs no signal handlers: the daemon's own stay in charge.
        self._thread = threading.Thread(target=self._server.run, name="tillbridge-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"cannot listen on {self.host}:{self.port}",
                                  fix="choose another address with --listen HOST:PORT")
            time.sleep(0.01)
        if self._server.servers:
            self.port = self._server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=2)


__all__ = ["Listener"]

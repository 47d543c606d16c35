"""Distributed-mode test kit: many shops behind one emulator server, producers and workers as
processes, and queue helpers. Builds on the daemon kit (tests/daemon/daemon_kit.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "daemon"))

import psycopg  # noqa: E402
from daemon_kit import _RUNNING, PLUGINS, TIME_SCALE, DaemonProcess, Shop, prepare_database  # noqa: E402

from tillbridge.distributed.queue import conninfo  # noqa: E402
from tillbridge.emulation import BackgroundServer  # noqa: E402
from tillbridge_lightspeed.emulator import LightspeedEmulator  # noqa: E402
from tillbridge_unleashed.emulator import UnleashedEmulator  # noqa: E402


def prepare_many(url: str, key: bytes, shops: list[Shop], threads: int = 4, **settings: Any) -> str:
    """``prepare_database`` for many shops, on a few threads (each opens the app: Alembic's
    command API keeps module-level state, so those no-op migrations take turns)."""
    import tillbridge.storage.db as db_module

    prepare_database(url, key, shops[:1], **settings)  # migrates once
    rest = shops[1:]
    lock, migrate = threading.Lock(), db_module.migrate

    def locked(engine: Any) -> None:
        with lock:
            migrate(engine)

    db_module.migrate = locked  # type: ignore[assignment]
    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda chunk: prepare_database(url, key, chunk, **settings),
                          [rest[j::threads] for j in range(threads) if rest[j::threads]]))
    finally:
        db_module.migrate = migrate  # type: ignore[assignment]
    return url


def jobs(url: str, where: str = "true") -> list[dict]:
    """Rows of procrastinate_jobs (id, status, task, connection, flow, lock, queueing_lock)."""
    with psycopg.connect(conninfo(url)) as conn:
        cur = conn.execute(
            "SELECT id, status::text, task_name, args->>'connection' AS connection, args->>'flow' AS flow, lock, "
            f"queueing_lock, attempts FROM procrastinate_jobs WHERE {where} ORDER BY id")
        names = [d.name for d in cur.description or ()]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def sql(url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


class Mux:
    """One ASGI app serving many emulators, each under its own path prefix (``/NAME``): fifty
    shops need two servers, not a hundred."""

    def __init__(self) -> None:
        self.apps: dict[str, Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        prefix, _, rest = scope["path"].lstrip("/").partition("/")
        app = self.apps.get(prefix)
        if app is None:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"no such emulator"})
            return
        path = "/" + rest
        await app({**scope, "path": path, "raw_path": path.encode()}, receive, send)


class MuxShop(Shop):
    base_ls: str = ""
    base_ul: str = ""

    @property
    def ls_url(self) -> str:
        return self.base_ls

    @property
    def ul_url(self) -> str:
        return self.base_ul

    def close(self) -> None:
        self.ls.close()
        self.ul.close()


class ShopFarm:
    """``count`` shops (a Lightspeed store and an Unleashed account each) on two servers."""

    def __init__(self, count: int, *, products: int = 6, seed: int = 11, time_scale: float = TIME_SCALE,
                 prefix: str = "shop") -> None:
        self.ls_mux, self.ul_mux = Mux(), Mux()
        self.servers = [BackgroundServer(self.ls_mux).start(), BackgroundServer(self.ul_mux).start()]
        self.shops: list[MuxShop] = []
        for i in range(count):
            name = f"{prefix}{i:02d}"
            ls = LightspeedEmulator(seed=seed + i, time_scale=time_scale,
                                    options={"products": products, "customers": 3, "domain_prefix": name})
            ul = UnleashedEmulator(seed=seed + i, time_scale=time_scale)
            self.ls_mux.apps[name], self.ul_mux.apps[name] = ls, ul
            shop = MuxShop(name, ls, ul)
            shop.base_ls, shop.base_ul = f"{self.servers[0].url}/{name}", f"{self.servers[1].url}/{name}"
            self.shops.append(shop)

    def set_faults(self, **values: Any) -> None:
        for shop in self.shops:
            shop.ls.set_faults(**values)
            shop.ul.set_faults(**values)

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        for shop in self.shops:
            shop.close()


class WorkerProcess(DaemonProcess):
    """``tillbridge worker`` as a process, JSON logs to a file."""

    def start(self) -> "WorkerProcess":
        env = {**os.environ, "TILLBRIDGE_SECRET_KEY": self.key.decode(), "TILLBRIDGE_LOAD_PLUGINS": PLUGINS,
               "PYTHONUNBUFFERED": "1"}
        env.pop("TILLBRIDGE_DATABASE_URL", None)
        args = [sys.executable, "-c", "from tillbridge.cli.main import main; main()", "--database-url", self.url,
                "worker", "--listen", f"127.0.0.1:{self.port}", "--log-format", "json", *self.extra]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, env=env)
        self.starts += 1
        if self not in _RUNNING:
            _RUNNING.append(self)
        return self


def producer(url: str, key: bytes, port: int, log_path: Path, *extra: str) -> DaemonProcess:
    """``tillbridge run --distributed`` as a process (the daemon kit's runner, one flag more)."""
    return DaemonProcess(url, key, port, log_path, "--distributed", *extra)

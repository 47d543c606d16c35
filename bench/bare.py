"""The bare httpx loop: the recorded requests of a full sync, replayed with nothing around them.

It is the yardstick of engine overhead: the same requests (method, path, query, headers,
body) to freshly seeded emulators, one ``httpx.Client`` per system (as the engine keeps one pool
per system), each answer read and parsed as JSON as any script would need to. No retries,
mapping, fingerprints, storage or logging: whatever the engine spends beyond this is overhead.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import httpx


def replay(recording: Path, urls: dict[str, str], on_mark: Callable[[str], None]) -> dict[str, Any]:
    """Send every recorded request to ``urls[system]``; ``on_mark`` runs (untimed) at markers.

    Returns ``{"seconds", "cpu_seconds", "requests", "statuses"}``; the times exclude the
    markers' work and the reading of the recording itself.
    """
    clients = {system: httpx.Client(base_url=url, timeout=60.0) for system, url in urls.items()}
    statuses: dict[int, int] = {}
    timing = [0.0, 0.0]  # wall, CPU
    sent = 0
    try:
        with recording.open() as lines:
            batch: list[dict[str, Any]] = []
            for raw in lines:
                item = json.loads(raw)
                if "mark" in item:
                    _send(batch, clients, statuses, timing)
                    sent += len(batch)
                    batch = []
                    on_mark(item["mark"])
                    continue
                parts = urlsplit(item["u"])
                target = parts.path + (f"?{parts.query}" if parts.query else "")
                batch.append({"s": item["s"], "m": item["m"], "t": target, "h": item["h"],
                              "b": base64.b64decode(item["b"]) if item["b"] else None})
                if len(batch) >= 5_000:  # keep memory flat; decoding is outside the timed loop
                    _send(batch, clients, statuses, timing)
                    sent += len(batch)
                    batch = []
            _send(batch, clients, statuses, timing)
            sent += len(batch)
    finally:
        for client in clients.values():
            client.close()
    return {"seconds": timing[0], "cpu_seconds": timing[1], "requests": sent,
            "statuses": {str(k): v for k, v in statuses.items()}}


def _send(batch: list[dict[str, Any]], clients: dict[str, httpx.Client], statuses: dict[int, int],
          timing: list[float]) -> None:
    cpu, started = time.process_time(), time.perf_counter()
    for req in batch:
        response = clients[req["s"]].request(req["m"], req["t"], headers=req["h"], content=req["b"])
        if response.content and response.headers.get("content-type", "").startswith("application/json"):
            response.json()
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    timing[0] += time.perf_counter() - started
    timing[1] += time.process_time() - cpu

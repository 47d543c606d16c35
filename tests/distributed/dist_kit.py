"""Distributed-mode test kit: the daemon kit's shops and databases, plus queue helpers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "daemon"))

import psycopg  # noqa: E402

from tillbridge.distributed.queue import conninfo  # noqa: E402


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

"""What the queue holds and who works on it: ``tillbridge queue``, ``tillbridge workers``,
``/healthz`` and ``/metrics`` of workers and producers read it from Procrastinate's tables."""

from __future__ import annotations

from typing import Any, Iterator

import psycopg
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .queue import conninfo

#: A worker whose heartbeat is older than this is shown as stalled.
STALLED_SECONDS = 30.0

_QUEUES = """
SELECT queue_name,
       count(*) FILTER (WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())) AS due,
       count(*) FILTER (WHERE status = 'todo' AND scheduled_at > now()) AS scheduled,
       count(*) FILTER (WHERE status = 'doing') AS doing,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       EXTRACT(EPOCH FROM now() - min(coalesce(scheduled_at, e.at)) FILTER (
           WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now()))) AS oldest_due
  FROM procrastinate_jobs j
  LEFT JOIN LATERAL (SELECT min(at) AS at FROM procrastinate_events WHERE job_id = j.id AND type = 'deferred') e ON true
 WHERE status IN ('todo', 'doing', 'failed')
 GROUP BY queue_name ORDER BY queue_name
"""

_WORKERS = """
SELECT w.id, EXTRACT(EPOCH FROM now() - w.last_heartbeat) AS heartbeat_age,
       count(j.id) AS doing, string_agg(j.args->>'connection' || ' ' || coalesce(j.args->>'flow', j.task_name),
                                       ', ' ORDER BY j.id) AS jobs
  FROM procrastinate_workers w LEFT JOIN procrastinate_jobs j ON j.worker_id = w.id AND j.status = 'doing'
 GROUP BY w.id ORDER BY w.id
"""

_STALLED = """
SELECT count(*) FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
 WHERE j.status = 'doing' AND (w.id IS NULL OR w.last_heartbeat < now() - make_interval(secs => %s))
"""

_RUNNING = """
SELECT j.id, j.args->>'connection' AS connection, coalesce(j.args->>'flow', j.task_name) AS flow, j.worker_id,
       j.lock, EXTRACT(EPOCH FROM now() - (SELECT max(at) FROM procrastinate_events
                                           WHERE job_id = j.id AND type = 'started')) AS seconds
  FROM procrastinate_jobs j WHERE j.status = 'doing' ORDER BY j.id
"""


def _rows(database_url: str, query: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with psycopg.connect(conninfo(database_url), connect_timeout=5) as conn:
        cur = conn.execute(query, params)
        names = [d.name for d in cur.description or ()]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def queue_report(database_url: str, stalled_seconds: float = STALLED_SECONDS) -> dict[str, Any]:
    """Per queue: due, scheduled, doing, failed jobs and the oldest due job's age; stalled jobs."""
    queues = {r["queue_name"]: {"due": r["due"], "scheduled": r["scheduled"], "doing": r["doing"],
                                "failed": r["failed"],
                                "oldest_due_seconds": round(float(r["oldest_due"]), 1) if r["oldest_due"] else 0.0}
              for r in _rows(database_url, _QUEUES)}
    stalled = _rows(database_url, _STALLED, (stalled_seconds,))[0]["count"]
    return {"queues": queues, "stalled": int(stalled)}


def workers_report(database_url: str, stalled_seconds: float = STALLED_SECONDS) -> list[dict[str, Any]]:
    out = []
    for r in _rows(database_url, _WORKERS):
        age = float(r["heartbeat_age"] or 0)
        out.append({"id": r["id"], "heartbeat_age": round(age, 1), "stalled": age > stalled_seconds,
                    "doing": r["doing"], "jobs": r["jobs"] or ""})
    return out


def running_jobs(database_url: str) -> list[dict[str, Any]]:
    return [{**r, "seconds": round(float(r["seconds"] or 0), 1)} for r in _rows(database_url, _RUNNING)]


class QueueCollector(Collector):
    """Queue gauges at scrape time (``tillbridge_queue_*``)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            report = queue_report(self.database_url)
            workers = workers_report(self.database_url)
        except Exception:
            return
        depth = GaugeMetricFamily("tillbridge_queue_jobs", "Jobs in the queue by state", labels=["queue", "state"])
        age = GaugeMetricFamily("tillbridge_queue_oldest_due_seconds", "Age of the oldest due job", labels=["queue"])
        for name, q in report["queues"].items():
            for st in ("due", "scheduled", "doing", "failed"):
                depth.add_metric([name, st], q[st])
            age.add_metric([name], q["oldest_due_seconds"])
        stalled = GaugeMetricFamily("tillbridge_queue_stalled_jobs", "Jobs of workers that stopped sending heartbeats")
        stalled.add_metric([], report["stalled"])
        alive = GaugeMetricFamily("tillbridge_queue_workers", "Workers registered, by heartbeat", labels=["state"])
        alive.add_metric(["alive"], sum(1 for w in workers if not w["stalled"]))
        alive.add_metric(["stalled"], sum(1 for w in workers if w["stalled"]))
        yield from (depth, age, stalled, alive)


__all__ = ["QueueCollector", "queue_report", "running_jobs", "workers_report"]

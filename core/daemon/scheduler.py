"""A small wrapper over APScheduler 3.11's ``BackgroundScheduler``: the only module that imports it.

The daemon needs little from a scheduler: interval jobs with stable ids, "run this one sooner",
one thread pool per connection (so a slow or failing connection can only ever occupy its own
threads), and a callback when a run was skipped because the previous one is still going.
Keeping that surface here means APScheduler 4 (or anything else) can replace it in one file.

Jobs live in memory: our own tables are the source of truth for what runs, and the daemon
rebuilds the job list from them on every start (and every few seconds while running).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger("tillbridge.daemon.scheduler")

#: The executor for the daemon's own jobs (reconcile, retention): never shared with flows.
MAINTENANCE = "default"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Scheduler:
    """Interval jobs, each with ``coalesce=True`` and ``max_instances=1``.

    :param maintenance_workers: threads for the daemon's own jobs.
    """

    def __init__(self, *, maintenance_workers: int = 2) -> None:
        self._scheduler = BackgroundScheduler(
            timezone=timezone.utc,
            executors={MAINTENANCE: ThreadPoolExecutor(maintenance_workers)},
            # coalesce: runs missed while busy or asleep collapse into one; max_instances: a flow
            # never runs twice at once (its cursor and page commits assume one writer).
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self._pools: set[str] = set()
        self._on_skipped: Callable[[str], None] | None = None
        self._scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        # APScheduler warns on every skipped instance; the daemon reports those itself (metrics, debug).
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        # "Running job ..." / "executed successfully" on every run: the jobs log what matters.
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        """Stop firing jobs; running ones are not waited for (the service does that, with a limit)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def on_skipped(self, callback: Callable[[str], None]) -> None:
        """``callback(job_id)`` when a run was skipped (still running, or missed its grace time)."""
        self._on_skipped = callback

    def _skipped(self, event: JobExecutionEvent | JobSubmissionEvent) -> None:
        if self._on_skipped is not None:
            self._on_skipped(event.job_id)

    # --- thread pools ------------------------------------------------------------------------------
    def ensure_pool(self, name: str, workers: int) -> str:
        """A thread pool of its own for ``name`` (a connection); returns its executor alias."""
        alias = f"pool:{name}"
        if alias not in self._pools:
            self._scheduler.add_executor(ThreadPoolExecutor(max(1, workers)), alias)
            self._pools.add(alias)
        return alias

    def drop_pool(self, name: str) -> None:
        alias = f"pool:{name}"
        if alias in self._pools:
            self._pools.discard(alias)
            self._scheduler.remove_executor(alias, shutdown=False)  # running jobs finish on their own

    def pools(self) -> set[str]:
        return {alias.split(":", 1)[1] for alias in self._pools}

    # --- jobs --------------------------------------------------------------------------------------
    def every(self, job_id: str, func: Callable[..., Any], seconds: float, *, args: Sequence[Any] = (),
              pool: str = MAINTENANCE, first_run: datetime | None = None,
              misfire_grace_time: float | None = None) -> None:
        """Add (or replace) an interval job. ``first_run`` defaults to one interval from now.

        ``misfire_grace_time`` (default: one interval) is how late a run may still start; a run
        later than that is dropped, since the next one comes anyway.
        """
        self._scheduler.add_job(
            func, "interval", seconds=seconds, args=list(args), id=job_id, name=job_id, executor=pool,
            replace_existing=True, next_run_time=first_run or utcnow() + timedelta(seconds=seconds),
            misfire_grace_time=int(max(1, round(misfire_grace_time if misfire_grace_time is not None else seconds))),
        )

    def reschedule(self, job_id: str, seconds: float, *, misfire_grace_time: float | None = None) -> None:
        """A new interval, counted from now (and from the next run on)."""
        self._scheduler.reschedule_job(job_id, trigger="interval", seconds=seconds)
        self._scheduler.modify_job(
            job_id, misfire_grace_time=int(max(1, round(misfire_grace_time if misfire_grace_time is not None
                                                         else seconds))))

    def remove(self, job_id: str) -> None:
        try:
            self._scheduler.remove_job(job_id)
        except JobLookupError:
            pass

    def job_ids(self) -> set[str]:
        return {job.id for job in self._scheduler.get_jobs()}

    def interval(self, job_id: str) -> float | None:
        job = self._scheduler.get_job(job_id)
        interval = getattr(getattr(job, "trigger", None), "interval", None)
        return interval.total_seconds() if interval is not None else None

    def next_run(self, job_id: str) -> datetime | None:
        job = self._scheduler.get_job(job_id)
        return job.next_run_time if job is not None else None

    def run_at(self, job_id: str, when: datetime) -> bool:
        """Bring a job's next run forward to ``when`` (never later than it already is)."""
        job = self._scheduler.get_job(job_id)
        if job is None or job.next_run_time is None:
            return False
        if when >= job.next_run_time:
            return True
        try:
            self._scheduler.modify_job(job_id, next_run_time=when)
        except JobLookupError:
            return False
        return True


__all__ = ["MAINTENANCE", "Scheduler", "utcnow"]

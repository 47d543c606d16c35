"""Background jobs started from the console (imports, exports, re-imports), one thread each.

A job wraps one call of a service (``services.import_since``...) and records its progress (the
runner's ``progress(flow, fetched)`` callback) and its results, so the page can poll them. One job
at a time per connection: two runs of the same flow at once would fight over its cursor.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from ..errors import ConfigError, TillbridgeError
from ..runner import ProgressCallback, RunResult

log = logging.getLogger("tillbridge.web.jobs")

Work = Callable[[ProgressCallback], "RunResult | list[RunResult]"]


@dataclass
class Job:
    id: str
    connection: str
    title: str
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    finished_at: datetime | None = None
    state: str = "running"  # running | done | failed
    progress: dict[str, int] = field(default_factory=dict)  # flow -> records fetched so far
    results: list[RunResult] = field(default_factory=list)
    error: str | None = None
    fix: str | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def fetched(self) -> int:
        return sum(self.progress.values())

    @property
    def failed_records(self) -> int:
        return sum(r.failed for r in self.results)

    @property
    def held_records(self) -> int:
        return sum(r.held for r in self.results)


class JobBoard:
    """The jobs of one console process (kept in memory; the runs themselves are in ``sync_run``)."""

    def __init__(self, keep: int = 20) -> None:
        self._jobs: list[Job] = []
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self.keep = keep

    def start(self, connection: str, title: str, work: Work) -> Job:
        with self._lock:
            busy = next((j for j in self._jobs if j.connection == connection and j.running), None)
            if busy is not None:
                raise ConfigError(f"a job is already running for {connection!r}: {busy.title}",
                                  fix="wait for it to finish (its progress is shown below), then start this one")
            job = Job(id=uuid.uuid4().hex[:10], connection=connection, title=title)
            self._jobs.insert(0, job)
            finished = [j for j in self._jobs if not j.running]
            for old in finished[self.keep:]:
                self._jobs.remove(old)
            thread = threading.Thread(target=self._run, args=(job, work), name=f"console-job-{job.id}", daemon=True)
            self._threads[job.id] = thread
        thread.start()
        return job

    def _run(self, job: Job, work: Work) -> None:
        def progress(flow: str, fetched: int) -> None:
            job.progress[flow] = fetched

        try:
            outcome = work(progress)
            results = outcome if isinstance(outcome, list) else [outcome]
            job.results = results
            failed = [r for r in results if r.status == "failed"]
            job.state = "failed" if failed else "done"
            if failed:
                job.error = "; ".join(f"{r.flow}: {r.error}" for r in failed)
        except TillbridgeError as exc:
            job.state, job.error, job.fix = "failed", exc.message, exc.fix
        except Exception as exc:  # a bug or a network failure must still end the job visibly
            log.exception("console job %s failed", job.title)
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.finished_at = datetime.now(timezone.utc)
            with self._lock:
                self._threads.pop(job.id, None)

    def jobs(self, connection: str) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs if j.connection == connection]

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return next((j for j in self._jobs if j.id == job_id), None)

    def wait_all(self, timeout: float | None = None) -> bool:
        """Join every running job (shutdown, tests); ``False`` if some are still running."""
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in threads)

"""The flow jobs: one per (connection, enabled flow), id ``"{connection}:{flow}"``.

A job run borrows the connection's runtime, runs the flow with the daemon's ``stop`` event (the
runner checks it between pages, so SIGTERM finishes the page in flight), and records the
outcome in the flow's :class:`~.backoff.FlowState`:

* ok: failures reset (the recovery is logged in the connection log), lag noted;
* deferred (rate limit, quota): the next run waits as long as the remote asked;
* failed: the next run waits longer each time (:class:`~.backoff.BackoffPolicy`), said in the
  connection log, and the runtime is rebuilt so re-entered credentials are picked up.

Flows of one connection that move data in opposite directions between the same two roles
(pos → inventory: products, customers, sales; inventory → pos: stock, exports) take turns
(:class:`Turns`): each reads what the other writes. The stock export subtracts POS sales not yet
imported, judged by the sales flow's cursor and bindings, which commit only after the order was
pushed; run side by side, an export could see an order in the inventory *and* count its sale as
pending, publishing a level too low that no later change corrects. Flows in the same direction
run in parallel, other connections are never affected, and a flow refused a turn waits without
holding a thread: it runs as soon as the other direction is done.

The first pass after the daemon starts (or a connection appears) follows the dependency order
of ``sync --once`` (products before sales before stock...): each flow's first run waits for the
first runs of the flows before it. After a crash, the sales flow thus commits a page that was
pushed but not committed before the stock export looks at what is still to import.

After a successful run, records the flow *held* for a missing dependency (a sale whose product
was not imported yet) are fetched anew and pushed, every ``held_retry_seconds`` and at once
after another flow of the connection wrote something. A trigger (webhook, retry) that arrives
while the flow runs is remembered and runs it again right after: nothing is lost to
``max_instances=1``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable
from ..app import App, ConnectionRuntime
from ..errors import TillbridgeError, Unsupported
from ..flows import Flow
from ..runner import FlowRunner, RunResult
from ..services import ordered_flows
from .backoff import BackoffPolicy, FlowState, job_id
from .freshness import measuring
from .options import DaemonOptions
from .runtimes import RuntimePool
from .scheduler import Scheduler

log = logging.getLogger("tillbridge.daemon.jobs")

#: Records re-tried per held re-import pass (the rest wait for the next pass).
HELD_BATCH = 500
#: A run asked for while the flow was running starts this long after it ends (APScheduler
#: counts the instance as running until the job function has returned).
RERUN_DELAY = 0.25
#: How often a first run waiting for the flows before it checks again.
FIRST_PASS_POLL = 0.5


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def lane(flow: Flow) -> str:
    """The direction a flow moves data in (``"pos>inventory"``)."""
    return f"{flow.source_role}>{flow.target_role}"


def opposite(lane_id: str) -> str:
    source, _, target = lane_id.partition(">")
    return f"{target}>{source}"


class Turns:
    """One connection's directions taking turns: any number of runs in one direction at a time.

    First come, first served between directions: a run is refused while the other direction
    runs, or while the other direction has waited longer than this one (so a busy direction
    drains and the waiting one goes next: no starvation either way). A wait older than
    ``PRIORITY_SECONDS`` (its flow went into backoff, say) no longer holds anyone back.
    """

    PRIORITY_SECONDS = 30.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}
        self._waiting: dict[str, dict[str, float]] = {}  # lane → flow refused a turn → since

    def _oldest(self, lane_id: str, now: float) -> float | None:
        fresh = [t for t in self._waiting.get(lane_id, {}).values() if now - t < self.PRIORITY_SECONDS]
        return min(fresh) if fresh else None

    def enter(self, lane_id: str, flow: str) -> bool:
        other = opposite(lane_id)
        now = self._clock()
        with self._lock:
            theirs, mine = self._oldest(other, now), self._oldest(lane_id, now)
            if self._running.get(other, 0) or (theirs is not None and (mine is None or theirs < mine)):
                self._waiting.setdefault(lane_id, {}).setdefault(flow, now)
                return False
            self._running[lane_id] = self._running.get(lane_id, 0) + 1
            self._drop(lane_id, flow)
            return True

    def _drop(self, lane_id: str, flow: str) -> None:
        waiting = self._waiting.get(lane_id)
        if waiting is not None:
            waiting.pop(flow, None)
            if not waiting:
                del self._waiting[lane_id]

    def forget(self, flow: str) -> None:
        """A flow's job is gone: it waits for nothing any more."""
        with self._lock:
            for lane_id in list(self._waiting):
                self._drop(lane_id, flow)

    def leave(self, lane_id: str) -> list[str]:
        """Leave; returns the flows of the other direction to start now that they may."""
        with self._lock:
            self._running[lane_id] = max(0, self._running.get(lane_id, 0) - 1)
            if self._running[lane_id]:
                return []
            return sorted(self._waiting.get(opposite(lane_id), {}))


@dataclass
class _HeldState:
    checked_at: float = 0.0
    generation: int = -1
    open: int = 0
    unsupported: bool = False


class FlowJobs:
    """Runs flow jobs and keeps their state; thread-safe (jobs run on per-connection pools)."""

    def __init__(self, app: App, scheduler: Scheduler, pool: RuntimePool, options: DaemonOptions,
                 stop: threading.Event, *, policy: BackoffPolicy | None = None) -> None:
        self.app = app
        self.scheduler = scheduler
        self.pool = pool
        self.options = options
        self.stop = stop
        self.policy = policy or BackoffPolicy(max_delay=options.max_backoff)
        self._lock = threading.Lock()
        self._states: dict[str, FlowState] = {}
        self._held: dict[str, _HeldState] = {}
        self._generation: dict[str, int] = {}
        self._turns: dict[str, Turns] = {}

    # --- the job list (driven by the reconciler) -----------------------------------------------------
    def states(self) -> list[FlowState]:
        with self._lock:
            return list(self._states.values())

    def state(self, connection: str, flow: str) -> FlowState | None:
        with self._lock:
            return self._states.get(job_id(connection, flow))

    def add(self, connection: str, flow: str, interval: float, *, pool: str, first_run: datetime,
            last_success: datetime | None = None) -> FlowState:
        state = FlowState(connection, flow, interval)
        if last_success is not None:
            state.last_success = state.fresh_as_of = last_success.timestamp()
        with self._lock:
            self._states[state.job_id] = state
        self.scheduler.every(state.job_id, self.execute, interval, args=(connection, flow), pool=pool,
                             first_run=first_run, misfire_grace_time=interval)
        return state

    def set_interval(self, connection: str, flow: str, interval: float) -> None:
        state = self.state(connection, flow)
        if state is None:
            return
        with state.lock:
            state.interval = interval
        self.scheduler.reschedule(state.job_id, interval, misfire_grace_time=interval)

    def turns(self, connection: str) -> Turns:
        with self._lock:
            return self._turns.setdefault(connection, Turns())

    def remove(self, jid: str) -> None:
        self.scheduler.remove(jid)
        connection, _, flow = jid.partition(":")
        with self._lock:
            self._states.pop(jid, None)
            self._held.pop(jid, None)
            turns = self._turns.get(connection)
        if turns is not None:
            turns.forget(flow)

    # --- triggers ----------------------------------------------------------------------------------
    def trigger(self, connection: str, flow: str, reason: str = "webhook", delay: float | None = None) -> bool:
        """Run a flow soon (debounced); ``False`` when it has no job or is backing off."""
        state = self.state(connection, flow)
        if state is None:
            return False
        now = time.time()
        with state.lock:
            if state.running_since is not None:
                state.pending = state.pending or reason
                return True
            if state.not_before and state.not_before > now:
                return False  # a failing flow keeps its pause; a webhook is no proof the cause went away
            state.reason = state.reason or reason
        wait = self.options.debounce if delay is None else delay
        return self.scheduler.run_at(state.job_id, _at(now + wait))

    def skipped(self, jid: str) -> None:
        """APScheduler skipped a run (the previous one still going): keep its reason for later."""
        with self._lock:
            state = self._states.get(jid)
        if state is None:
            return
        with state.lock:
            reason, state.reason = state.reason, None
            if reason is None:
                return
            if state.running_since is not None:
                state.pending = state.pending or reason
                return
            state.reason = reason
        self.scheduler.run_at(jid, _at(time.time() + RERUN_DELAY))

    def reset_backoff(self, connection: str, reason: str = "credentials") -> None:
        """Credentials or settings changed: failing flows of the connection try again now."""
        for state in self.states():
            if state.connection != connection:
                continue
            with state.lock:
                if not state.consecutive_failures:
                    continue
                state.not_before = None
            self.trigger(connection, state.flow, reason, delay=0.1)

    # --- one run -----------------------------------------------------------------------------------
    def execute(self, connection: str, flow_name: str) -> None:
        """The job function."""
        jid = job_id(connection, flow_name)
        with self._lock:
            state = self._states.get(jid)
        if state is None or self.stop.is_set():
            return
        started = time.time()
        with state.lock:
            if state.running_since is not None:  # belt and braces next to max_instances=1
                state.pending = state.pending or "schedule"
                return
            if state.not_before and started + 0.05 < state.not_before:
                return  # pausing after failures, or deferred; a run is booked for not_before
            state.running_since = started
            reason, state.reason = state.reason or "schedule", None
            measured = state.fresh_as_of is not None  # not the initial import (see freshness.py)
        if not state.runs and self._predecessors_pending(state):
            with state.lock:  # a first run follows the dependency order, as `sync --once` does
                state.running_since = None
                state.reason = reason
            self.scheduler.run_at(jid, _at(time.time() + FIRST_PASS_POLL))
            return
        flow = self.app.flows().get(flow_name)
        turns, direction = self.turns(connection), lane(flow) if flow is not None else ""
        if flow is not None and not turns.enter(direction, flow_name):
            log.debug("%s %s waits for the other direction", connection, flow_name,
                      extra={"connection": connection, "flow": flow_name})
            with state.lock:  # the other direction runs: go as soon as it is done (see Turns)
                state.running_since = None
                state.reason = reason
            return
        result: RunResult | None = None
        lag: float | None = None
        runtime: ConnectionRuntime | None = None
        try:
            runtime = self.pool.acquire(connection)
            runner = FlowRunner(self.app, runtime, stop=self.stop)
            if flow is not None and runner.enabled(flow):
                with measuring(measured) as lags:
                    result = runner.run(flow, trigger=reason)
                    if result.status == "ok" and not self.stop.is_set():
                        self._retry_held(runtime, runner, flow, result.held)
                lag = lags.worst
        except Exception as exc:  # never let one flow's surprise take the job (or the pool) down
            log.exception("flow %s of %s stopped on an unexpected error", flow_name, connection,
                          extra={"connection": connection, "flow": flow_name})
            result = RunResult(flow_name, status="failed", error=f"unexpected {type(exc).__name__}: {exc}")
            if runtime is not None:
                self._write_log(runtime, "error", f"{flow_name} stopped on an unexpected error: "
                                f"{type(exc).__name__}: {exc}", flow_name,
                                fix="see the daemon's log; the flow is retried with growing pauses")
        finally:
            if runtime is not None:
                self.pool.release(runtime)
            released = turns.leave(direction) if flow is not None else []
            self._finish(state, runtime, result, lag, started)
            for other in released:
                self.trigger(connection, other, reason="turn", delay=RERUN_DELAY)

    def _finish(self, state: FlowState, runtime: ConnectionRuntime | None, result: RunResult | None,
                lag: float | None, started: float) -> None:
        now = time.time()
        recovered = 0
        delay = 0.0
        with state.lock:
            state.running_since = None
            pending, state.pending = state.pending, None
            if result is not None:
                state.runs += 1
                state.last_run = started
                state.last_status, state.last_error = result.status, result.error
                if result.status == "ok":
                    recovered, state.consecutive_failures = state.consecutive_failures, 0
                    state.not_before = None
                    state.last_success, state.fresh_as_of = now, started
                    state.last_written = result.written
                    if lag is not None:
                        state.lag = lag
                elif result.status == "deferred":
                    delay = result.retry_after if result.retry_after else state.interval
                    state.not_before = now + delay
                else:
                    state.consecutive_failures += 1
                    delay = self.policy.delay(state.consecutive_failures, state.interval)
                    state.not_before = now + delay
            failures, not_before = state.consecutive_failures, state.not_before
            if pending and not not_before:
                state.reason = pending
        conn, flow = state.connection, state.flow
        extra = {"connection": conn, "flow": flow}
        if result is not None:
            if result.status == "ok":
                level = logging.INFO if result.written or result.failed or result.held else logging.DEBUG
                log.log(level, "%s %s: ok in %.2fs, %d fetched, %d written, %d held, %d failed", conn, flow,
                        now - started, result.fetched, result.written, result.held, result.failed, extra=extra)
            else:
                log.warning("%s %s: %s after %.2fs: %s", conn, flow, result.status, now - started, result.error,
                            extra=extra)
        if runtime is not None and result is not None:
            if recovered:
                self._write_log(runtime, "info", f"{flow} recovered after {recovered} failed "
                                f"run{'s' if recovered > 1 else ''}", flow)
                log.info("%s %s recovered after %d failed runs", conn, flow, recovered, extra=extra)
            if result.status == "failed":
                self._write_log(runtime, "warning", f"{flow} failed {failures} time{'s' if failures > 1 else ''} "
                                f"in a row; next attempt in {delay:.0f}s", flow,
                                fix="it retries by itself, with longer pauses while it keeps failing; "
                                    "the error above says what to fix")
                self.pool.invalidate(conn)  # re-read credentials and rebuild clients for the next try
        if self.stop.is_set():
            return
        if not_before:
            self.scheduler.run_at(state.job_id, _at(not_before))
        elif pending:
            self.scheduler.run_at(state.job_id, _at(now + RERUN_DELAY))
        if result is not None and result.status == "ok" and result.written:
            self._dependency_written(conn, flow)

    def _write_log(self, runtime: ConnectionRuntime, level: str, message: str, flow: str,
                   fix: str | None = None) -> None:
        try:
            self.app.store.write_log(runtime.id, level, message, flow=flow, fix=fix, category="run")
        except Exception:  # the database itself failing is logged by the caller's path
            log.exception("could not write the connection log of %s", runtime.name)

    def _predecessors_pending(self, state: FlowState) -> bool:
        """Has a flow that comes earlier in the dependency order not finished its first run yet?

        Only for a flow's first run after the daemon starts (or the flow appears): the first pass
        then runs in dependency order (``Flow.after``), like ``sync --once``. It matters after a crash: a sales page
        pushed but not committed is committed by the sales flow's first run, before the stock
        export could count its sale as not yet imported.
        """
        order = {flow.name: i for i, flow in enumerate(ordered_flows(self.app))}
        mine = order.get(state.flow, len(order))
        return any(other.connection == state.connection and order.get(other.flow, len(order)) < mine
                   and not other.runs for other in self.states())

    # --- held records ------------------------------------------------------------------------------
    def _dependency_written(self, connection: str, flow: str) -> None:
        """A flow wrote records: flows of the connection holding records may go through now."""
        with self._lock:
            self._generation[connection] = self._generation.get(connection, 0) + 1
            waiting = [jid.split(":", 1)[1] for jid, held in self._held.items()
                       if held.open and jid.startswith(connection + ":") and not jid.endswith(":" + flow)]
        for other in waiting:
            self.trigger(connection, other, reason="held")

    def _retry_held(self, runtime: ConnectionRuntime, runner: FlowRunner, flow: Flow, just_held: int) -> None:
        jid = job_id(runtime.name, flow.name)
        now = time.time()
        with self._lock:
            held = self._held.setdefault(jid, _HeldState())
            if just_held:  # waiting for a dependency: the next write of another flow retries them
                held.open = max(held.open, just_held)
            generation = self._generation.get(runtime.name, 0)
            due = (not held.unsupported
                   and (generation != held.generation or now - held.checked_at >= self.options.held_retry_seconds))
            if due:
                held.checked_at, held.generation = now, generation
        if not due:
            return
        entries = [e for e in self.app.store.log_entries(runtime.id, flow=flow.name, open_only=True, limit=HELD_BATCH)
                   if e.category == "held" and e.source_id]
        held.open = len(entries)
        if not entries:
            return
        source = runtime.connector(flow.source_role)
        records = []
        for entry in entries:
            if self.stop.is_set():
                return
            try:
                fresh = source.get(flow.entity_type, entry.source_id or "")
            except Unsupported:
                held.unsupported = True  # this source cannot read one record: re-imports stay manual
                return
            except TillbridgeError as exc:
                log.info("%s %s: held record %s not re-read: %s", runtime.name, flow.name, entry.record_key,
                         exc.message, extra={"connection": runtime.name, "flow": flow.name})
                continue
            if fresh is not None:
                records.append(fresh)
        if not records:
            return
        result = runner.run_records(flow, records, trigger="held")
        held.open = result.held
        if result.written:
            log.info("%s %s: %d held record(s) went through", runtime.name, flow.name, result.written,
                     extra={"connection": runtime.name, "flow": flow.name})
            self._dependency_written(runtime.name, flow.name)


def first_runs(count: int, *, start: float | None = None, spread: float = 0.25) -> list[datetime]:
    """Start times for a new connection's jobs: soon, a little apart, in dependency order."""
    base = start if start is not None else time.time()
    return [_at(base + 0.05 + i * spread) for i in range(count)]


__all__ = ["FlowJobs", "first_runs"]

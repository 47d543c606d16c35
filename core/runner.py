"""The sync runner: one flow of one connection, page by page, vendor-free.

For each page: fetch from the source (from the stored cursor), drop what needs no write
(unchanged fingerprints, records we wrote ourselves), rewrite references to the target's ids
(bindings, the location map), push in batches, then commit the page's bindings, log lines and the
new cursor **together**. A crash before that commit re-fetches the page next time and re-writes
it under the same target ids (bound or deterministic), so nothing is duplicated or lost. Memory
is bounded by the page size.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Sequence

from .app import App, ConnectionRuntime
from .connector import Connector, Outgoing, Page, PushResult
from .entities import Entity
from .errors import (
    command,
    AuthError,
    ConfigError,
    QuotaExhausted,
    RateLimited,
    RecordHeld,
    RemoteError,
    TillbridgeError,
    TransientError,
)
from .events import SyncEvent
from .flows import Flow, PrepareContext, admit
from .push import PageWrites, PushPipeline, push_page

if TYPE_CHECKING:
    from .plugins import Plugins

log = logging.getLogger("tillbridge.runner")

ProgressCallback = Callable[[str, int], None]


@dataclass
class RunResult:
    flow: str
    status: str = "ok"
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    held: int = 0
    failed: int = 0
    #: written, with a warning in the log (an order left parked for lack of stock, a code changed)
    warned: int = 0
    pages: int = 0
    error: str | None = None
    retry_after: float | None = None
    notes: list[str] = field(default_factory=list)
    #: a flow's own line for summaries (the opening stock: "opening stock: 12 products, 3 warehouses")
    summary: str | None = None

    @property
    def written(self) -> int:
        return self.created + self.updated


class StopRequested(Exception):
    """Raised between pages when the daemon is shutting down."""


class FlowRunner:
    """Runs flows for one connection."""

    def __init__(self, app: App, runtime: ConnectionRuntime, *, stop: threading.Event | None = None,
                 progress: ProgressCallback | None = None) -> None:
        self.app = app
        self.rt = runtime
        self.store = app.store
        self.plugins = app.plugins
        self.stop = stop or threading.Event()
        self.progress = progress
        self._force = False
        #: what the running flow's ``prepare`` works with (a new one for each run)
        self._prepared: PrepareContext | None = None

    # --- entry points ---------------------------------------------------------------------------
    def enabled(self, flow: Flow) -> bool:
        if not (self.rt.has_role(flow.source_role) and self.rt.has_role(flow.target_role)):
            return False
        return not flow.switch or bool(self.rt.settings.get(flow.switch))

    def run(self, flow: Flow, *, since: datetime | None = None, trigger: str = "manual",
            max_pages: int | None = None, force: bool = False) -> RunResult:
        """Run ``flow`` from its cursor (or from ``since``; the cursor still moves on).

        :param force: write records even when their binding says the target already holds this
            content (a re-sync repairs what was changed on the target side). Records we wrote
            ourselves are still not sent back, and a bound sale is never posted again.
        """
        result = RunResult(flow.name)
        self._force = force
        self._prepared = None
        run = self.store.start_run(self.rt.id, flow.name, trigger)
        self.app.emit(SyncEvent("run_started", self.rt.name, flow=flow.name, detail={"trigger": trigger}))
        try:
            source = self.rt.connector(flow.source_role)
            target = self.rt.connector(flow.target_role)
            cursor = None if since else self.store.cursor(self.rt.id, flow.name)
            self._prepared = PrepareContext(self.app, self.rt, flow, source, full_read=cursor is None and since is None)
            gather = max(0, int(target.push_gather(flow.entity_type)))
            staged: list[_Staged] = []  # pages planned, their writes not sent yet (``push_gather``)
            writing: deque[_Writing] = deque()  # pages handed to the pipeline, not committed yet
            with _Reader(self.plugins, source, flow.entity_type,
                         ahead=source is not target and bool(source.read_ahead(flow.entity_type))) as reader, \
                    PushPipeline(self.plugins, target, flow.entity_type) as pipeline:
                # Pages overlap in the pipeline when writes go side by side and are not gathered:
                # the next page's writes fill the slots the current page's last ones leave free.
                overlap = not gather and pipeline.width > 1
                page = reader.first(cursor, since)
                while True:
                    if page.more and not (max_pages and result.pages + 1 >= max_pages):
                        reader.start_next(page.cursor)  # read while this page is planned and written
                    if overlap:
                        ids = _touched(flow, page.records)
                        if any(w.ids & ids for w in writing):  # a record again (or one it refers to)
                            self._settle(flow, source, target, writing, result, pipeline, keep=0)
                        st = self._stage(flow, source, target, page, result)
                        writing.append(_Writing(st, pipeline.submit(st.plan.outgoing), ids))
                        self._settle(flow, source, target, writing, result, pipeline, keep=1)
                    else:
                        staged.append(self._stage(flow, source, target, page, result))
                        self._flush_gathered(flow, source, target, staged, result, pipeline, gather)
                    cursor = page.cursor
                    result.pages += 1
                    if self.progress:
                        self.progress(flow.name, result.fetched)
                    if not page.more or (max_pages and result.pages >= max_pages):
                        break
                    if self.stop.is_set():
                        result.notes.append("stopped between pages; resumes from the stored cursor")
                        break
                    page = reader.next(cursor)
                self._settle(flow, source, target, writing, result, pipeline, keep=0)
                if flow.prepare is not None and not page.more:
                    # Records the source never reported, after a read to the end (the stock
                    # export's levels of 0): pushed and gathered like read pages (held all at
                    # once, 140,000 zeros at 100,000 products × 20 outlets were the stock
                    # export's peak memory), not counted as read.
                    for extra in flow.prepare.finish(self._prepared):
                        staged.append(self._stage(flow, source, target, Page(records=extra, cursor=page.cursor,
                                                                             more=False), result))
                        result.fetched -= len(extra)
                        self._flush_gathered(flow, source, target, staged, result, pipeline, gather)
                self._flush(flow, source, target, staged, result, pipeline)
        except (RateLimited, QuotaExhausted) as exc:
            result.status, result.error = "deferred", str(exc)
            result.retry_after = getattr(exc, "retry_after", None)
            self._log_flow_error(flow, exc, level="warning")
        except (AuthError, ConfigError, TransientError, RemoteError) as exc:
            result.status, result.error = "failed", str(exc)
            self._log_flow_error(flow, exc)
        except TillbridgeError as exc:
            result.status, result.error = "failed", str(exc)
            self._log_flow_error(flow, exc)
        except BaseException as exc:
            # A bug, or the process being stopped: the run did not succeed, whatever it wrote.
            result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            result.summary = self._prepared.summary if self._prepared is not None else None
            if result.created:
                self._reread_after_new(flow)
            for name in ("fetched", "created", "updated", "unchanged", "skipped", "held", "failed"):
                setattr(run, name, getattr(result, name))
            self.store.finish_run(run, result.status, result.error)
            self.app.emit(SyncEvent("run_finished", self.rt.name, flow=flow.name,
                                    detail={"status": result.status, "written": result.written,
                                            "failed": result.failed, "held": result.held}))
        return result

    def run_records(self, flow: Flow, records: Sequence[Entity], *, trigger: str = "reimport") -> RunResult:
        """Push given source records through the flow without moving its cursor (re-imports)."""
        result = RunResult(flow.name)
        self._force = False
        run = self.store.start_run(self.rt.id, flow.name, trigger)
        try:
            source = self.rt.connector(flow.source_role)
            target = self.rt.connector(flow.target_role)
            self._prepared = PrepareContext(self.app, self.rt, flow, source)
            page = Page(records=list(records), cursor=None, more=False)
            self._process(flow, source, target, page, result, move_cursor=False)
        except TillbridgeError as exc:
            result.status, result.error = "failed", str(exc)
            self._log_flow_error(flow, exc)
        except BaseException as exc:
            result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            for name in ("fetched", "created", "updated", "unchanged", "skipped", "held", "failed"):
                setattr(run, name, getattr(result, name))
            self.store.finish_run(run, result.status, result.error)
        return result

    def _reread_after_new(self, flow: Flow) -> None:
        """Records just created (products on a system that receives stock): the flows that say
        so (``reread_after``) read everything again once, since what they read before the
        record existed was skipped and their cursor has moved past it (unchanged records are
        not sent again)."""
        for other in self.app.flows().values():
            if flow.name in other.reread_after:
                self.store.reset_cursor(self.rt.id, other.name)

    def _log_flow_error(self, flow: Flow, exc: TillbridgeError, level: str = "error") -> None:
        self.store.write_log(self.rt.id, level, exc.message, flow=flow.name, entity_type=flow.entity_type,
                             direction=self._direction(flow), fix=exc.fix, category="run")

    def _direction(self, flow: Flow) -> str:
        return f"{self.rt.system_of(flow.source_role)} → {self.rt.system_of(flow.target_role)}"

    # --- one page -------------------------------------------------------------------------------
    def _process(self, flow: Flow, source: Connector, target: Connector, page: Page, result: RunResult, *,
                 move_cursor: bool = True) -> None:
        """Plan, push and commit one page."""
        staged = [self._stage(flow, source, target, page, result, move_cursor=move_cursor)]
        self._flush(flow, source, target, staged, result)

    def _stage(self, flow: Flow, source: Connector, target: Connector, page: Page, result: RunResult, *,
               move_cursor: bool = True) -> "_Staged":
        """One page planned: what to write, hold and skip (nothing sent yet)."""
        result.fetched += len(page.records)
        prepared = self._prepared or PrepareContext(self.app, self.rt, flow, source)
        prepared.fingerprints.clear()
        records: Sequence[Entity] = page.records
        if flow.prepare is not None:  # the flow's own step (the stock export subtracts till sales)
            records = flow.prepare.page(prepared, page.records)
            result.skipped += max(0, len(page.records) - len(records))
        plan = self._plan(flow, source, target, records, result, prepared.fingerprints)
        return _Staged(plan, page.cursor, move_cursor)

    def _flush(self, flow: Flow, source: Connector, target: Connector, staged: list["_Staged"],
               result: RunResult, pipeline: PushPipeline | None = None) -> None:
        """The staged pages' writes in one push, then each page's commit in order (its bindings,
        log lines and cursor): a crash between two commits re-sends only idempotent writes."""
        if not staged:
            return
        outgoing = [o for st in staged for o in st.plan.outgoing]
        results = (pipeline.wait(pipeline.submit(outgoing)) if pipeline is not None
                   else self._push(target, flow.entity_type, outgoing))
        by_source = {res.source_id: res for res in results}
        for st in staged:
            self._commit_staged(flow, source, target, st, by_source, result)
        staged.clear()

    def _flush_gathered(self, flow: Flow, source: Connector, target: Connector, staged: list["_Staged"],
                        result: RunResult, pipeline: PushPipeline, gather: int) -> None:
        """:meth:`_flush` once the staged pages hold ``gather`` writes (``0``: every page)."""
        if sum(len(st.plan.outgoing) for st in staged) >= gather:
            self._flush(flow, source, target, staged, result, pipeline)

    def _settle(self, flow: Flow, source: Connector, target: Connector, writing: "deque[_Writing]",
                result: RunResult, pipeline: PushPipeline, *, keep: int) -> None:
        """Commit the pages being written, oldest first, once each one's writes are back, until
        ``keep`` are left (the newest: still being written while the next page is read)."""
        while len(writing) > keep:
            w = writing.popleft()
            by_source = {res.source_id: res for res in pipeline.wait(w.writes)}
            self._commit_staged(flow, source, target, w.staged, by_source, result)

    def _commit_staged(self, flow: Flow, source: Connector, target: Connector, st: "_Staged",
                       by_source: dict[str, PushResult], result: RunResult) -> None:
        """Commit one staged page with its own writes' results (``by_source`` may hold several
        pages')."""
        mine = [by_source[o.source_id] for o in st.plan.outgoing if o.source_id in by_source]
        self._commit(flow, source, target, st.plan, mine, st.cursor, result, move_cursor=st.move_cursor)

    def _plan(self, flow: Flow, source: Connector, target: Connector, records: Sequence[Entity],
              result: RunResult, fingerprints: dict[str, str]) -> "_Plan":
        plan = _Plan()
        src, tgt = source.system, target.system
        admitted: list[Entity] = []
        for record in records:
            verdict = admit(record, flow)
            if verdict is None:
                admitted.append(record)
            elif verdict:
                plan.skipped.append((record, verdict))
            else:
                result.skipped += 1  # silently ignored (e.g. a parked sale: it comes back when closed)
        with self.store.session() as s:
            ids = [r.id for r in admitted]
            own = self.store.bindings(s, self.rt.id, flow.entity_type, src, tgt, ids)
            echoes = self.store.reverse_bindings(s, self.rt.id, flow.entity_type, src, tgt, ids)
            wanted: dict[str, set[str]] = {}
            for record in admitted:
                for etype, rid in record.referenced():
                    wanted.setdefault(etype, set()).add(rid)
            resolved: dict[str, dict[str, str]] = {
                etype: self.store.resolve_ids(s, self.rt.id, etype, src, tgt, sorted(rids))
                for etype, rids in wanted.items() if etype != "location"
            }
        locations = {
            lid: self.plugins.map_location(self.rt.name, lid, src, tgt) for lid in wanted.get("location", ())
        }
        master = self.rt.settings.get("product_master")
        src_title, tgt_title = source.title or src, target.title or tgt
        labels: dict[tuple[str, str], str] = {}  # referenced (type, id) → the code or name a person knows
        for record in admitted:
            labels.update(reference_labels(record))

        def mapper(etype: str, rid: str) -> str:
            if etype == "location":
                mapped = locations.get(rid)
                if mapped is None:
                    label, name = self._location_label(rid)
                    raise RecordHeld(f"{label} of {src_title} is not mapped to a location of {tgt_title}",
                                     fix=f"on the Configuration tab, drag {label} onto the {tgt_title} warehouse "
                                         f"it sells from (or {command('map', name, 'WAREHOUSE', '-c', self.rt.name)})")
                return mapped
            mapped = resolved.get(etype, {}).get(rid)
            if mapped is None:
                what = labels.get((etype, rid)) or self._lookup_label(source, etype, rid, labels)
                named = f"{etype} {what!r}" if what else f"a {etype}"
                raise RecordHeld(f"{named} of {src_title} is not in {tgt_title} yet",
                                 fix=f"check {named} in {src_title} and that it reached {tgt_title} (Manage your data → "
                                     f"import {etype}s; the connection log says why if it was refused)")
            return mapped

        for record in admitted:
            fingerprint = fingerprints.pop(record.id, None) or record.fingerprint()
            bound, echo = own.get(record.id), echoes.get(record.id)
            if bound is not None and bound.fingerprint == fingerprint and not self._force:
                result.unchanged += 1
                plan.unchanged.append(record.id)
                continue
            if bound is None and echo is not None and fingerprint in (echo.fingerprint, echo.target_fingerprint):
                # We wrote this record ourselves (as sent, or as the target stored it): an echo.
                result.unchanged += 1
                plan.unchanged.append(record.id)
                continue
            try:
                outgoing_entity = record.remap(mapper)
            except RecordHeld as held:
                held.key = record.key
                held.fix = (f"{held.fix}; then press Re-import on this line "
                            f"(or {command('reimport', '--record', record.key, '-c', self.rt.name)})")
                plan.held.append((record, held))
                continue
            if bound is not None:
                target_id, exists = bound.target_id, True
            elif echo is not None:
                target_id, exists = echo.source_id, True
            else:
                target_id = target.context.deterministic_id(flow.entity_type, src, record.id)
                exists = False
            update_fields = None
            if flow.master_fields and master and master != flow.source_role and exists:
                update_fields = frozenset(type(record).model_fields) - flow.master_fields
            plan.outgoing.append(Outgoing(entity=outgoing_entity, target_id=target_id, exists=exists,
                                          source_system=src,
                                          source_key=record.key, source_id=record.id,
                                          update_fields=update_fields,
                                          target_key=echo.source_key if echo is not None and bound is None else None,
                                          resend=bound is not None and bound.fingerprint == fingerprint))
            plan.fingerprints[record.id] = fingerprint
            plan.sources[record.id] = _Source(record.key, record.id)
            if echo is not None:
                plan.echo_ids[record.id] = echo.id or 0
        return plan

    def _lookup_label(self, source: Connector, etype: str, rid: str,
                      labels: dict[tuple[str, str], str]) -> str | None:
        """The code (or name) of a record the source holds but the target does not: one read of
        it, only for a record that is held, so that the log names it the way a person knows it."""
        try:
            found = source.get(etype, rid)
        except Exception:  # the message then says "a product": still no id in it
            found = None
        label = (getattr(found, "code", None) or getattr(found, "name", None)) if found is not None else None
        if label:
            labels[(etype, rid)] = str(label)
        return str(label) if label else None

    def _location_label(self, location_id: str) -> tuple[str, str]:
        """(``outlet 'Ponsonby'``, ``Ponsonby``) when the location is known (names, not ids)."""
        for loc in self.store.known_locations(self.rt.id):
            if loc.location_id == location_id:
                return f"{loc.kind} {loc.name!r}", loc.name
        return "a new outlet", location_id

    def _push(self, target: Connector, entity_type: str, outgoing: Sequence[Outgoing]) -> list[PushResult]:
        """Every write of a page, in batches, side by side where the target allows (core/push.py)."""
        return push_page(self.plugins, target, entity_type, outgoing)

    def _commit(self, flow: Flow, source: Connector, target: Connector, plan: "_Plan",
                results: Sequence[PushResult], cursor: str | None, result: RunResult, *,
                move_cursor: bool = True) -> None:
        conn_id, src, tgt = self.rt.id, source.system, target.system
        direction = self._direction(flow)
        bindings: list[dict[str, Any]] = []
        echo_updates: dict[int, tuple[str, str | None]] = {}
        succeeded: list[str] = []
        events: list[SyncEvent] = []
        with self.store.session() as s:
            for res in results:
                ref = plan.sources[res.source_id]
                if res.ok:
                    if res.status == "created":
                        result.created += 1
                    elif res.status == "updated":
                        result.updated += 1
                    else:
                        result.unchanged += 1
                    fingerprint = plan.fingerprints[res.source_id]
                    # what the target holds now, when it stored the record differently from what was sent
                    stored = res.stored.fingerprint() if res.stored is not None else None
                    if stored == fingerprint:
                        stored = None
                    if res.target_id:
                        bindings.append({
                            "connection_id": conn_id, "entity_type": flow.entity_type, "source_system": src,
                            "source_id": res.source_id, "target_system": tgt, "target_id": res.target_id,
                            "source_key": ref.key, "fingerprint": fingerprint,
                            "target_fingerprint": stored,
                        })
                    if res.source_id in plan.echo_ids:
                        # the binding made the other way round: its source (our target) now holds
                        # what we wrote, its target (our source) what we read
                        echo_updates[plan.echo_ids[res.source_id]] = (stored or fingerprint, fingerprint)
                    succeeded.append(res.source_id)
                    if res.note:
                        result.warned += 1
                        self.store.log(s, conn_id, "warning", res.note, flow=flow.name,
                                       entity_type=flow.entity_type, direction=direction, record_key=ref.key,
                                       source_id=ref.id, category="note")
                    events.append(SyncEvent("record_written", self.rt.name, flow=flow.name, system=tgt,
                                            key=ref.key, detail={"status": res.status}))
                else:
                    result.failed += 1
                    err = res.error
                    message = getattr(err, "message", None) or str(err) or "rejected"
                    fix = getattr(err, "fix", None)
                    self.store.log(s, conn_id, "error", message, flow=flow.name, entity_type=flow.entity_type,
                                   direction=direction, record_key=ref.key, source_id=ref.id, fix=fix,
                                   category="failed")
                    events.append(SyncEvent("record_failed", self.rt.name, flow=flow.name, system=tgt,
                                            key=ref.key, detail={"message": message}))
            for record, held in plan.held:
                result.held += 1
                self.store.log(s, conn_id, "warning", f"held: {held.message}", flow=flow.name,
                               entity_type=flow.entity_type, direction=direction, record_key=record.key,
                               source_id=record.id, fix=held.fix, category="held")
                if flow.held_quantities is not None:  # what it took stays off the stock export
                    self.store.hold_quantities(s, conn_id, record.id, flow.held_quantities(record))
                events.append(SyncEvent("record_held", self.rt.name, flow=flow.name, system=tgt,
                                        key=record.key, detail={"message": held.message}))
            for record, reason in plan.skipped:
                result.skipped += 1
                self.store.log(s, conn_id, "info", reason, flow=flow.name, entity_type=flow.entity_type,
                               direction=direction, record_key=record.key, source_id=record.id, category="skipped")
            self.store.save_bindings(s, bindings)
            self.store.touch_reverse_fingerprints(s, conn_id, flow.entity_type, echo_updates)
            done = succeeded + plan.unchanged + [r.id for r, _ in plan.skipped]
            self.store.resolve_log(s, conn_id, flow.name, done)
            if flow.held_quantities is not None:
                self.store.release_quantities(s, conn_id, done)
            if move_cursor:
                self.store.set_cursor(s, conn_id, flow.name, cursor)
            s.commit()
        for event in events:
            self.app.emit(event)


class _Reader:
    """A flow's pages from its source, the next one read while the current one is planned and
    written when the source says it may (``Connector.read_ahead``); otherwise each page is read
    when it is wanted. A page read ahead and not used (a stop, an error) is dropped: a read
    moves nothing, the cursor moves only when a page commits."""

    def __init__(self, plugins: Plugins, source: Connector, entity_type: str, *, ahead: bool) -> None:
        self.plugins, self.source, self.entity_type = plugins, source, entity_type
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"tillbridge-read-{source.system}") if ahead else None
        self._next: tuple[str | None, Future[Page]] | None = None

    def __enter__(self) -> "_Reader":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:  # waits for a read in flight (one request); its result is dropped
            self._pool.shutdown(wait=True, cancel_futures=True)

    def first(self, cursor: str | None, since: datetime | None) -> Page:
        # Only the first page restarts from the date; then the cursor leads.
        return self.plugins.fetch_entities(self.source, self.entity_type, cursor, since)

    def start_next(self, cursor: str | None) -> None:
        if self._pool is not None:
            self._next = (cursor, self._pool.submit(self.plugins.fetch_entities, self.source,
                                                    self.entity_type, cursor, None))

    def next(self, cursor: str | None) -> Page:
        """The page after ``cursor``: the one read ahead (its error raised now, after the
        page before it committed, as if it were read now), else read now."""
        ahead, self._next = self._next, None
        if ahead is not None and ahead[0] == cursor:
            return ahead[1].result()
        return self.plugins.fetch_entities(self.source, self.entity_type, cursor, None)


class _Writing(NamedTuple):
    """A page whose writes are in the pipeline: committed once they are back."""

    staged: "_Staged"
    writes: PageWrites
    ids: frozenset[str]  # its records and the records of its flow they refer to


def _touched(flow: Flow, records: Sequence[Entity]) -> frozenset[str]:
    """The ids a page's plan reads bindings of, in the flow's own type: its records and the ones
    they refer to (a variant's parent). A page that shares one with a page still being written
    waits for that page's commit before it is planned: a sale changed between two reads comes
    in both pages, and must be planned knowing whether the first write bound it."""
    ids = {r.id for r in records}
    for record in records:
        ids.update(rid for etype, rid in record.referenced() if etype == flow.entity_type)
    return frozenset(ids)


@dataclass
class _Staged:
    plan: "_Plan"
    cursor: str | None
    move_cursor: bool


@dataclass
class _Plan:
    outgoing: list[Outgoing] = field(default_factory=list)
    held: list[tuple[Entity, RecordHeld]] = field(default_factory=list)
    skipped: list[tuple[Entity, str]] = field(default_factory=list)
    #: ids of the records the target holds already
    unchanged: list[str] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)
    #: what a commit needs of each written record: its key and id, not the record (a gathered
    #: push holds thousands of plans' worth: ``Connector.push_gather``)
    sources: dict[str, "_Source"] = field(default_factory=dict)
    echo_ids: dict[str, int] = field(default_factory=dict)


class _Source(NamedTuple):
    key: str
    id: str


def reference_labels(record: Entity) -> dict[tuple[str, str], str]:
    """What a person calls the records ``record`` points at: ``{("product", id): "CODE"}`` from
    the ``X_code`` (else ``description``) field beside each ``X_id`` reference of its lines."""
    out: dict[tuple[str, str], str] = {}
    children: list[Any] = [record]
    for name in record.nested:
        children.extend(getattr(record, name))
    for child in children:
        for field_name, etype in child.references.items():
            rid = getattr(child, field_name, None)
            base = field_name[:-3] if field_name.endswith("_id") else field_name
            label = getattr(child, f"{base}_code", None) or getattr(child, "description", None)
            if rid and label and (etype, rid) not in out:
                out[(etype, rid)] = str(label)
    return out


__all__ = ["FlowRunner", "RunResult", "StopRequested", "admit"]

"""The push side of a flow run: its writes in batches, side by side where the target allows.

With ``target.push_concurrency`` > 1, batches go out at most that many at once. What must stay in
order is said by ``target.push_lane``: a write's lanes (one name, or several); a write waits for
the earlier writes that share one of its lanes, and writes without a lane are independent. E.g.
sales orders lane by (warehouse, product): two orders of one warehouse that take different
products go side by side, two that take the same product stay in the POS's order.

A :class:`PushPipeline` lives for one flow run. The runner (core/runner.py) hands it each page's
writes as the page is planned (:meth:`PushPipeline.submit`) and commits a page once its writes are
back (:meth:`PushPipeline.wait`), in page order. A page can be handed over while the page before
it is still being written: its writes then wait only for the earlier writes of their lanes, of
whichever page, and fill the slots the earlier page's last writes leave free (its stragglers, an
order waiting for the one before it that takes the same stock).
"""

from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Sequence

from .connector import Connector, Outgoing, PushResult
from .entities import StockLevel
from .errors import RecordRejected, RemoteError

if TYPE_CHECKING:
    from .plugins import Plugins


class PageWrites:
    """One page's writes handed to a :class:`PushPipeline`; :meth:`PushPipeline.wait` gives
    their results."""

    def __init__(self, outgoing: Sequence[Outgoing]) -> None:
        self.outgoing = outgoing
        self.slots: list[PushResult | None] = [None] * len(outgoing)
        self.remaining = 0  # batches not done
        self.running = 0  # batches being written now
        self.finished = threading.Event()  # all done, or the pipeline failed and none is running


@dataclass
class _Batch:
    """One ``push`` call: records (indexes into its page) and what waits for it."""

    where: list[int]
    lanes: frozenset[str]
    page: PageWrites
    seq: int = 0  # order among every batch of the run: the earliest ready one goes first
    waiting: int = 0  # batches it still waits for
    then: list[int] = field(default_factory=list)  # batches waiting for this one


class PushPipeline:
    """The writes of one flow run, page after page.

    An error stops what has not started: :meth:`wait` raises it for a page not fully written
    (that page is then not committed; every write is idempotent, so it is redone), and
    :meth:`close` returns once the started writes are done."""

    def __init__(self, plugins: Plugins, target: Connector, entity_type: str) -> None:
        self.plugins, self.target, self.entity_type = plugins, target, entity_type
        self.size = max(1, int(target.push_batch_limit(entity_type)))
        self.width = max(1, int(target.push_concurrency))
        self._cond = threading.Condition()
        self._live: dict[int, _Batch] = {}  # batches not done, by seq
        self._ready: list[int] = []  # heap of the seqs that wait for nothing
        self._last: dict[str, int] = {}  # lane → the live batch that last took it
        self._seq = 0
        self._errors: list[BaseException] = []
        self._closed = False
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> PushPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the caller's side ------------------------------------------------------------------------
    def submit(self, outgoing: Sequence[Outgoing]) -> PageWrites:
        """Hand over a page's writes (they start at once, as slots and their lanes allow)."""
        page = PageWrites(outgoing)
        if not outgoing:
            page.finished.set()
        elif self.width == 1:  # one at a time, in the page's order, as a connector without concurrency expects
            for start, end in _batches(outgoing, self.size):
                self._run(_Batch(list(range(start, end)), frozenset(), page))
            page.finished.set()
        else:
            lanes = [_lanes_of(self.target, self.entity_type, o) for o in outgoing]  # may read (kits)
            with self._cond:
                if self._errors:
                    raise self._errors[0]
                freed = self._plan(page, lanes)
                self._start_workers()
                self._cond.notify(freed)
        return page

    def wait(self, page: PageWrites) -> list[PushResult]:
        """The page's results in the order of its writes, once all are back."""
        try:
            while not page.finished.is_set():  # short waits: a Ctrl-C that lands in a push thread
                page.finished.wait(timeout=0.01)  # is handled only when this thread runs Python again
        except BaseException:  # KeyboardInterrupt while waiting: the started writes end, no more
            self.close()
            raise
        with self._cond:
            if page.remaining and self._errors:
                raise self._errors[0]
        return [res for res in page.slots if res is not None]

    def close(self) -> None:
        """Start nothing more; return once the started writes are done."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    # --- planning ---------------------------------------------------------------------------------
    def _plan(self, page: PageWrites, lanes: list[frozenset[str]]) -> int:
        """The page's writes as batches, linked to the live batches they wait for; how many
        are ready at once. (Called with the lock held.)

        A write with lanes joins the page's batch that last took its lanes when that batch took
        exactly these lanes and has room (so one lane's writes still go ``size`` a call, in
        order); otherwise it starts a batch that waits for the last batch of each of its lanes,
        of this page or of an earlier one still being written. Writes without a lane are cut
        into batches of their own, which wait for nothing."""
        local: list[_Batch] = []
        after: list[set[int]] = []  # per local batch: the local batches it waits for
        before: list[set[int]] = []  # per local batch: the earlier pages' live batches (seqs)
        last: dict[str, int] = {}  # lane → the local batch that last took it
        free: list[int] = []
        for i, mine in enumerate(lanes):
            if not mine:
                free.append(i)
                continue
            latest = {last.get(lane) for lane in mine}
            if len(latest) == 1 and (n := latest.pop()) is not None \
                    and local[n].lanes == mine and len(local[n].where) < self.size:
                local[n].where.append(i)
                continue
            local.append(_Batch([i], mine, page))
            after.append({last[lane] for lane in mine if lane in last})
            before.append({self._last[lane] for lane in mine if lane not in last and lane in self._last})
            for lane in mine:
                last[lane] = len(local) - 1
        part = [page.outgoing[i] for i in free]
        for start, end in _batches(part, self.size):
            local.append(_Batch([free[j] for j in range(start, end)], frozenset(), page))
            after.append(set())
            before.append(set())
        order = sorted(range(len(local)), key=lambda n: local[n].where[0])  # the page's order first
        for position, n in enumerate(order):
            local[n].seq = self._seq + position
        self._seq += len(local)
        freed = 0
        for n, batch in enumerate(local):
            waits = {local[m].seq for m in after[n]} | before[n]
            batch.waiting = len(waits)
            for seq in waits:
                self._live[seq].then.append(batch.seq)
            self._live[batch.seq] = batch
            if not waits:
                heapq.heappush(self._ready, batch.seq)
                freed += 1
        for lane, n in last.items():
            self._last[lane] = local[n].seq
        page.remaining = len(local)
        return freed

    # --- the workers ------------------------------------------------------------------------------
    def _start_workers(self) -> None:
        while len(self._threads) < self.width:
            thread = threading.Thread(target=self._work, daemon=True,
                                      name=f"tillbridge-push-{self.target.system}-{len(self._threads)}")
            self._threads.append(thread)
            thread.start()

    def _work(self) -> None:
        """Take the earliest ready batch, write it, free what waited for it; until closed.

        A few long-lived threads, no future per batch: a page of 500 sales orders is 500
        one-record batches, and a future and its waiter each cost more than the scheduling."""
        while True:
            with self._cond:
                while not self._ready and not self._errors and not self._closed:
                    self._cond.wait()
                if self._errors or self._closed:
                    return  # failed, or closed: start nothing more
                batch = self._live[heapq.heappop(self._ready)]
                batch.page.running += 1
            try:
                self._run(batch)
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread by wait()
                with self._cond:
                    self._errors.append(exc)
                    batch.page.running -= 1
                    for live in self._live.values():  # the pages whose started writes are all back
                        if not live.page.running:
                            live.page.finished.set()
                    self._cond.notify_all()
                return
            with self._cond:
                batch.page.running -= 1
                del self._live[batch.seq]
                for lane in batch.lanes:
                    if self._last.get(lane) == batch.seq:
                        del self._last[lane]
                freed = 0
                for seq in batch.then:
                    later = self._live[seq]
                    later.waiting -= 1
                    if not later.waiting:
                        heapq.heappush(self._ready, seq)
                        freed += 1
                batch.page.remaining -= 1
                if not batch.page.remaining or (self._errors and not batch.page.running):
                    batch.page.finished.set()
                if freed:
                    self._cond.notify(freed)  # only workers wait on the condition

    def _run(self, batch: _Batch) -> None:
        records = [batch.page.outgoing[i] for i in batch.where]
        try:
            answer = self.plugins.push_entities(self.target, self.entity_type, records)
        except RecordRejected as exc:  # a connector that rejects the whole batch: per record
            answer = [PushResult(o.source_id, "failed", error=exc) for o in records]
        if len(answer) != len(records):
            raise RemoteError(f"{self.target.system} returned {len(answer)} results for {len(records)} records")
        for i, res in zip(batch.where, answer):
            batch.page.slots[i] = res


def push_page(plugins: Plugins, target: Connector, entity_type: str,
              outgoing: Sequence[Outgoing]) -> list[PushResult]:
    """Every write of one page, in batches; results in the order of ``outgoing``."""
    with PushPipeline(plugins, target, entity_type) as pipeline:
        return pipeline.wait(pipeline.submit(outgoing))


def _batches(outgoing: Sequence[Outgoing], size: int) -> Iterable[tuple[int, int]]:
    """(start, end) slices of at most ``size`` records, except that one product's stock levels
    are never split: the POS takes all of a product's outlets in one request."""
    start = 0
    while start < len(outgoing):
        end = min(start + size, len(outgoing))
        while end < len(outgoing) and _stock_group(outgoing[end]) is not None \
                and _stock_group(outgoing[end]) == _stock_group(outgoing[end - 1]):
            end += 1
        yield start, end
        start = end


def _lanes_of(target: Connector, entity_type: str, o: Outgoing) -> frozenset[str]:
    """``push_lane``'s answer as a set: ``None`` → none, a name → one, several names → each."""
    lane = target.push_lane(entity_type, o)
    if lane is None:
        return frozenset()
    if isinstance(lane, str):
        return frozenset((lane,))
    return frozenset(str(name) for name in lane)


def _stock_group(o: Outgoing) -> str | None:
    return o.entity.product_id if isinstance(o.entity, StockLevel) else None


__all__ = ["PageWrites", "PushPipeline", "push_page"]

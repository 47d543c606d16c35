"""The push side of a page: its writes in batches, side by side where the target allows.

With ``target.push_concurrency`` > 1, batches go out at most that many at once. What must stay in
order is said by ``target.push_lane``: a write's lanes (one name, or several); a write waits for
the earlier writes of the page that share one of its lanes, and writes without a lane are
independent. E.g. sales orders lane by (warehouse, product): two orders of one warehouse that
take different products go side by side, two that take the same product stay in the POS's order.
The runner (core/runner.py) calls :func:`push_page` once per page and commits what comes back.
"""

from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from .connector import Connector, Outgoing, PushResult
from .entities import StockLevel
from .errors import RecordRejected, RemoteError

if TYPE_CHECKING:
    from .plugins import Plugins


@dataclass
class _Batch:
    """One ``push`` call: records (indexes into the page) and the batches it must wait for."""

    where: list[int]
    lanes: frozenset[str]
    after: set[int] = field(default_factory=set)  # indexes of the batches it waits for
    then: list[int] = field(default_factory=list)  # batches waiting for this one


def push_page(plugins: Plugins, target: Connector, entity_type: str,
              outgoing: Sequence[Outgoing]) -> list[PushResult]:
    """Every write of a page, in batches; results in the order of ``outgoing``.

    An error stops what has not started and is raised once the started batches are done (the
    page is then not committed; every write is idempotent, so it is redone)."""
    size = max(1, int(target.push_batch_limit(entity_type)))
    width = max(1, int(target.push_concurrency))
    if width > 1:
        batches = _plan_batches(target, entity_type, outgoing, size)
    else:  # one at a time, in the page's order, as a connector without concurrency expects
        batches = [_Batch(list(range(start, end)), frozenset()) for start, end in _batches(outgoing, size)]
    slots: list[PushResult | None] = [None] * len(outgoing)

    def run(batch: _Batch) -> None:
        records = [outgoing[i] for i in batch.where]
        try:
            answer = plugins.push_entities(target, entity_type, records)
        except RecordRejected as exc:  # a connector that rejects the whole batch: per record
            answer = [PushResult(o.source_id, "failed", error=exc) for o in records]
        if len(answer) != len(records):
            raise RemoteError(f"{target.system} returned {len(answer)} results for {len(records)} records")
        for i, res in zip(batch.where, answer):
            slots[i] = res

    if width == 1 or len(batches) <= 1:
        for batch in batches:
            run(batch)
    else:
        _run_side_by_side(batches, run, width, f"tillbridge-push-{target.system}")
    return [res for res in slots if res is not None]


def _run_side_by_side(batches: list[_Batch], run: Callable[[_Batch], None], width: int, name: str) -> None:
    """Run the batches at most ``width`` at once, each once the batches it waits for are done,
    the page's earliest first. On an error (or Ctrl-C) nothing more starts; the started ones end
    and the first error is raised.

    ``width`` threads take the ready batches in turn (no future per batch: a page of 500 sales
    orders is 500 one-record batches, and a future and its waiter each cost more than the
    scheduling itself)."""
    waiting = [len(b.after) for b in batches]
    ready = [n for n, b in enumerate(batches) if not b.after]
    heapq.heapify(ready)
    cond = threading.Condition()
    done = 0
    errors: list[BaseException] = []
    stop = threading.Event()  # Ctrl-C in the caller: start nothing more
    finished = threading.Event()  # all done, or an error: the caller may go on

    def worker() -> None:
        nonlocal done
        while True:
            with cond:
                while not ready and done < len(batches) and not errors and not stop.is_set():
                    cond.wait()
                if errors or stop.is_set() or not ready:
                    return
                n = heapq.heappop(ready)
            try:
                run(batches[n])
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread below
                with cond:
                    errors.append(exc)
                    cond.notify_all()
                finished.set()
                return
            with cond:
                done += 1
                freed = 0
                for later in batches[n].then:
                    waiting[later] -= 1
                    if not waiting[later]:
                        heapq.heappush(ready, later)
                        freed += 1
                if done == len(batches):
                    cond.notify_all()  # the other workers: nothing left
                    finished.set()
                elif freed:
                    cond.notify(freed)  # only workers wait on ``cond``

    threads = [threading.Thread(target=worker, name=f"{name}-{k}", daemon=True)
               for k in range(min(width, len(batches)))]
    for thread in threads:
        thread.start()
    try:
        while not finished.is_set():  # short waits: a Ctrl-C that lands in a push thread is
            finished.wait(timeout=0.01)  # handled only when this thread runs Python code again
    except BaseException:  # KeyboardInterrupt while waiting: the started writes end, no more
        stop.set()
        raise
    finally:
        with cond:
            if errors:
                stop.set()
            cond.notify_all()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]


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


def _plan_batches(target: Connector, entity_type: str, outgoing: Sequence[Outgoing],
                  size: int) -> list[_Batch]:
    """The page's writes as batches, each with the earlier batches it waits for.

    A write with lanes joins the batch that last took its lanes when that batch took exactly
    these lanes and has room (so one lane's writes still go ``size`` a call, in order); otherwise
    it starts a batch that waits for the last batch of each of its lanes. Writes without a lane
    are cut into batches of their own, which wait for nothing."""
    batches: list[_Batch] = []
    last: dict[str, int] = {}  # lane → the batch that last took it
    free: list[int] = []
    for i, o in enumerate(outgoing):
        lanes = _lanes_of(target, entity_type, o)
        if not lanes:
            free.append(i)
            continue
        latest = {last.get(lane) for lane in lanes}
        if len(latest) == 1 and (n := latest.pop()) is not None \
                and batches[n].lanes == lanes and len(batches[n].where) < size:
            batches[n].where.append(i)
            continue
        batch = _Batch([i], lanes, after={last[lane] for lane in lanes if lane in last})
        n = len(batches)
        batches.append(batch)
        for before in batch.after:
            batches[before].then.append(n)
        for lane in lanes:
            last[lane] = n
    part = [outgoing[i] for i in free]
    batches.extend(_Batch([free[j] for j in range(start, end)], frozenset())
                   for start, end in _batches(part, size))
    order = sorted(range(len(batches)), key=lambda n: batches[n].where[0])  # the page's order first
    renumber = {old: new for new, old in enumerate(order)}
    planned = [batches[old] for old in order]
    for batch in planned:
        batch.after = {renumber[n] for n in batch.after}
        batch.then = [renumber[n] for n in batch.then]
    return planned


def _stock_group(o: Outgoing) -> str | None:
    return o.entity.product_id if isinstance(o.entity, StockLevel) else None


__all__ = ["push_page"]

"""The push side of a page: its writes in batches, side by side where the target allows.

With ``target.push_concurrency`` > 1, batches go out at most that many at once: records of one
lane (``target.push_lane``) stay in sequence, records without one are independent. The runner
(core/runner.py) calls :func:`push_page` once per page and commits what comes back.
"""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Iterable, Sequence

from .connector import Connector, Outgoing, PushResult
from .entities import StockLevel
from .errors import RecordRejected, RemoteError

if TYPE_CHECKING:
    from .plugins import Plugins


def push_page(plugins: Plugins, target: Connector, entity_type: str,
              outgoing: Sequence[Outgoing]) -> list[PushResult]:
    """Every write of a page, in batches; results in the order of ``outgoing``.

    An error stops what has not started and is raised once the started batches are done (the
    page is then not committed; every write is idempotent, so it is redone)."""
    size = max(1, int(target.push_batch_limit(entity_type)))
    width = max(1, int(target.push_concurrency))
    chains = _push_chains(target, entity_type, outgoing, size) if width > 1 else []
    if len(chains) <= 1:  # one at a time, as a connector without concurrency expects
        chains = [[list(range(start, end)) for start, end in _batches(outgoing, size)]]
        width = 1
    slots: list[PushResult | None] = [None] * len(outgoing)

    abort = threading.Event()  # a batch failed, or Ctrl-C: start no further batch

    def run(chain: list[list[int]]) -> None:
        for where in chain:
            if abort.is_set():
                return
            batch = [outgoing[i] for i in where]
            try:
                answer = plugins.push_entities(target, entity_type, batch)
            except RecordRejected as exc:  # a connector that rejects the whole batch: per record
                answer = [PushResult(o.source_id, "failed", error=exc) for o in batch]
            if len(answer) != len(batch):
                raise RemoteError(f"{target.system} returned {len(answer)} results for {len(batch)} records")
            for i, res in zip(where, answer):
                slots[i] = res
            # when stopping, finish the page anyway: a half-committed page would only be redone

    if width == 1:
        run(chains[0])
    else:
        pool = ThreadPoolExecutor(max_workers=min(width, len(chains)),
                                  thread_name_prefix=f"tillbridge-push-{target.system}")
        futures = [pool.submit(run, chain) for chain in chains]
        try:
            pending = set(futures)
            while pending and not abort.is_set():
                # Short waits, not one long one: a signal (Ctrl-C) that lands in a push thread
                # is only handled when the main thread runs Python code again.
                done, pending = wait(pending, timeout=0.01, return_when=FIRST_EXCEPTION)
                if any(f.exception() is not None for f in done):
                    abort.set()
        except BaseException:  # KeyboardInterrupt while waiting: the started writes end, no more
            abort.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=abort.is_set())
        for future in futures:
            error = None if future.cancelled() else future.exception()
            if error is not None:
                raise error
    return [res for res in slots if res is not None]


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


def _push_chains(target: Connector, entity_type: str, outgoing: Sequence[Outgoing],
                 size: int) -> list[list[list[int]]]:
    """The page's writes as chains of batches (lists of indexes into ``outgoing``): a chain goes
    in sequence, chains side by side. One chain per lane, holding that lane's records in their
    order; every batch of records without a lane is a chain of its own."""
    lanes: dict[str, list[int]] = {}
    free: list[int] = []
    for i, o in enumerate(outgoing):
        lane = target.push_lane(entity_type, o)
        (free if lane is None else lanes.setdefault(str(lane), [])).append(i)
    chains: list[list[list[int]]] = []
    for where in [*lanes.values(), free]:
        part = [outgoing[i] for i in where]
        batches = [where[start:end] for start, end in _batches(part, size)]
        if where is free:
            chains.extend([b] for b in batches)
        elif batches:
            chains.append(batches)
    chains.sort(key=lambda chain: chain[0][0])  # roughly the page's order
    return chains


def _stock_group(o: Outgoing) -> str | None:
    return o.entity.product_id if isinstance(o.entity, StockLevel) else None


__all__ = ["push_page"]

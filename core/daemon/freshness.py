"""Freshness: how long a change took from its source to its commit in the target (per flow).

The runner reports each written record (``record_written``) after its page is committed, but
not when the record changed at its source. The daemon's plugin manager therefore notes the
source time (``updated_at``, else a sale's date) of every record it fetches, in a collector
that lives for one run on the job's own thread (a run fetches, pushes and commits on one
thread), and the metrics observer turns each ``record_written`` into a lag. Nothing is kept
between runs, and runs on other threads never see each other's records.

Lags rely on the source's clock: a negative value (clock skew) counts as zero. A flow's first
successful run (the initial import) is not measured: its records changed long before anyone
was syncing, and would drown the figure that matters, the delay of changes made while running.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator

from ..connector import Connector, Page
from ..plugins import Plugins

_current = threading.local()


@dataclass
class RunLag:
    """Source times of the records one run fetched, and the lags of those it wrote."""

    active: bool = True
    source_times: dict[str, datetime] = field(default_factory=dict)
    lags: list[float] = field(default_factory=list)

    def note(self, page: Page) -> None:
        if not self.active:
            return
        for record in page.records:
            when = record.updated_at or getattr(record, "sale_date", None)
            if isinstance(when, datetime):
                self.source_times[record.key] = when

    def written(self, key: str | None, at: datetime) -> float | None:
        """The lag of a record just committed, or ``None`` when its source time is unknown."""
        when = self.source_times.pop(key, None) if key is not None else None
        if when is None:
            return None
        lag = max(0.0, (at - when).total_seconds())
        self.lags.append(lag)
        return lag

    @property
    def worst(self) -> float | None:
        return max(self.lags) if self.lags else None


@contextmanager
def measuring(active: bool = True) -> Iterator[RunLag]:
    """Collect source times for the run executing on this thread (``active=False``: do not)."""
    run = RunLag(active=active)
    previous = getattr(_current, "run", None)
    _current.run = run
    try:
        yield run
    finally:
        _current.run = previous


def current() -> RunLag | None:
    return getattr(_current, "run", None)


class FreshnessPlugins(Plugins):
    """The daemon's plugin manager: the same hooks, plus a note of every fetched page."""

    def fetch_entities(self, connector: Connector, entity_type: str, cursor: str | None,
                       since: datetime | None = None) -> Page:
        page = super().fetch_entities(connector, entity_type, cursor, since)
        run = current()
        if run is not None:
            run.note(page)
        return page


__all__ = ["FreshnessPlugins", "RunLag", "current", "measuring"]

"""The Reconciliation page, and the 30-day activity chart the overview includes.

The page asks the remote systems about one trading day only (``tillbridge.reconcile``); the
chart reads nothing but our own runs table. Both are drawn on the server: the chart is inline
SVG with presentation attributes (the console's CSP allows no inline styles or scripts).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ..errors import TillbridgeError
from ..reconcile import DayActivity, daily_activity, parse_day, reconcile, trading_zone, zone_of
from .console import Console, attempt, console_of, redirect, render, route

#: Colours of the flows in the chart (by position; a flow keeps its colour across days).
PALETTE = ("#2f6fde", "#1f9d6b", "#d4880f", "#8e5bd6", "#0f8fa8", "#c2477a", "#6c7a89", "#5a9e2f")
FAILED = "#c8342b"
CHART_W, CHART_H, BASE_Y, FAIL_H = 600, 190, 140, 40


async def reconcile_page(request: Request) -> Response:
    console = console_of(request)
    name = request.path_params["name"]
    text = (request.query_params.get("date") or "").strip()

    def load() -> dict[str, Any]:
        app = console.app
        conn = app.store.connection(name)
        zone, _ = trading_zone(app.runtime(name), app.settings(conn))
        today = datetime.now(zone_of(zone)).date()
        day = parse_day(text) if text else today - timedelta(days=1)
        if day > today:
            raise TillbridgeError(f"{day:%d %B %Y} has not happened yet", fix="pick today or an earlier day")
        return {"report": reconcile(app, name, day), "today": today, "day": day}

    def settled() -> dict[str, Any]:
        # A job (a Re-import from this page) that ends while the report is read would leave the
        # page showing the old difference with a finished job that no longer polls to reload it:
        # read again until no job ended meanwhile.
        # The panel is drawn from copies taken before the read, so a job that ends after it
        # still shows as running and polls (its end reloads the page).
        for _ in range(3):
            jobs = console.jobs.jobs(name)
            seen = [copy.copy(j) for j in jobs]
            data = load()
            if all(j.running for j in jobs if j.id in {c.id for c in seen if c.running}):
                break
        return {**data, "jobs": seen}

    ok, data = await attempt(request, settled)
    if not ok:
        if text:  # a bad date: show the page for yesterday, with the message
            return redirect(request, f"/c/{name}/reconcile")
        return render(request, "reconcile.html", connection=name, tab="reconcile", report=None,
                      jobs=console.jobs.jobs(name))
    day: date = data["day"]
    return render(request, "reconcile.html", connection=name, tab="reconcile",
                  previous=(day - timedelta(days=1)).isoformat(),
                  following=(day + timedelta(days=1)).isoformat() if day < data["today"] else None, **data)


# --- the 30-day chart ---------------------------------------------------------------------------
@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str


@dataclass
class Chart:
    days: list[DayActivity]
    flows: list[tuple[str, str]]  # (flow, colour)
    bars: list[Bar]
    top: int  # the largest day of records moved (the scale)
    top_failed: int
    width: int = CHART_W
    height: int = CHART_H
    base_y: int = BASE_Y

    @property
    def empty(self) -> bool:
        return not any(d.total_moved or d.total_failed for d in self.days)

    @property
    def active_days(self) -> list[DayActivity]:
        return [d for d in self.days if d.total_moved or d.total_failed]

    def tick(self, index: int) -> str:
        return f"{self.days[index].day:%d %b}"


def build_chart(days: list[DayActivity], flow_order: list[str]) -> Chart:
    """Stacked bars per day: records moved above the line, failures below it (own scale)."""
    seen = {f for d in days for f in (*d.moved, *d.failed)}
    flows = [f for f in flow_order if f in seen] + sorted(seen - set(flow_order))
    colours = {f: PALETTE[i % len(PALETTE)] for i, f in enumerate(flows)}
    top = max((d.total_moved for d in days), default=0)
    top_failed = max((d.total_failed for d in days), default=0)
    slot = CHART_W / max(len(days), 1)
    bars: list[Bar] = []
    for i, d in enumerate(days):
        x = i * slot + slot * 0.15
        width = slot * 0.7
        y = float(BASE_Y)
        for flow in flows:
            n = d.moved.get(flow, 0)
            if not n:
                continue
            h = max((BASE_Y - 10) * n / top, 1.5)
            y -= h
            bars.append(Bar(round(x, 1), round(y, 1), round(width, 1), round(h, 1), colours[flow],
                            f"{d.day:%d %b}: {n} {flow} moved"))
        y = float(BASE_Y) + 2
        for flow in flows:
            n = d.failed.get(flow, 0)
            if not n:
                continue
            h = max((FAIL_H - 4) * n / top_failed, 1.5)
            bars.append(Bar(round(x, 1), round(y, 1), round(width, 1), round(h, 1), FAILED,
                            f"{d.day:%d %b}: {n} {flow} failed"))
            y += h
    return Chart(days, [(f, colours[f]) for f in flows], bars, top, top_failed)


def activity_chart(console: Console, connection: str | None) -> Chart | None:
    """The chart of ``connection``'s last 30 days (days in the retailer's time zone, as set;
    UTC otherwise, so drawing it never calls a remote system)."""
    if not connection:
        return None
    app = console.app
    try:
        conn = app.store.connection(connection)
        zone = app.settings(conn).get("time_zone") or "UTC"
        zone_of(zone)
    except TillbridgeError:
        return None
    flows = [f.name for f in app.flows().values()]
    return build_chart(daily_activity(app, connection, days=30, zone=zone), flows)


def install(console: Console) -> None:
    """Let any template include ``_activity_chart.html`` (it asks for the chart itself)."""
    console.templates.env.globals["activity_chart"] = lambda connection: activity_chart(console, connection)


def routes() -> list[BaseRoute]:
    return [route("/c/{name}/reconcile", reconcile_page, name="reconcile")]


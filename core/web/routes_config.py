"""Configuration tab: outlets mapped onto warehouses, and every setting with its help."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .. import services
from ..app import App
from ..entities import Entity
from ..settings import SettingSpec
from ..storage.models import KnownLocation
from .console import Console, attempt, console_of, flash, form_action, redirect, render, route
from .settings_form import build_fields, changes, submitted

REMOTE_LIST_TTL = 300.0  # seconds a list fetched from a remote system is reused


@dataclass
class OutletRow:
    outlet: KnownLocation
    warehouse: KnownLocation | None


@dataclass
class WarehouseRow:
    warehouse: KnownLocation
    outlet: KnownLocation | None


def locations(app: App, name: str) -> tuple[list[OutletRow], list[WarehouseRow]]:
    rt = app.runtime(name)
    outlets = app.store.known_locations(rt.id, "outlet")
    warehouses = app.store.known_locations(rt.id, "warehouse")
    mapping = app.store.location_map(rt.id)
    by_id = {loc.location_id: loc for loc in outlets + warehouses}
    holder = {w: o for o, w in mapping.items()}
    return ([OutletRow(o, by_id.get(mapping.get(o.location_id, ""))) for o in outlets],
            [WarehouseRow(w, by_id.get(holder.get(w.location_id, ""))) for w in warehouses])


def system_titles(app: App, name: str, *, short: bool = False) -> dict[str, str]:
    """Role → the title of the system that fills it ("accounting" → "Xero"; ``short``: the name
    people call it by, "Lightspeed")."""
    out = {}
    for role, ref in app.runtime(name).systems.items():
        cls = app.registries.connectors.get(ref.system)
        title = (cls.short_title if short and cls is not None else None) or (cls.title if cls is not None else None)
        out[role] = title or ref.system
    return out


def remote_names(app: App, name: str, role: str, entity_type: str) -> list[str]:
    """Names of the records of ``entity_type`` the ``role`` system holds (a setting's ``choices_from``)."""
    connector = app.runtime(name).connector(role)
    names: list[str] = []
    cursor = None
    for _page in range(20):  # these lists are short; a bound keeps a misbehaving API from looping
        page = connector.fetch(entity_type, cursor)
        names += [str(getattr(r, "name")) for r in page.records
                  if isinstance(r, Entity) and getattr(r, "name", None) and not getattr(r, "obsolete", False)]
        cursor = page.cursor
        if not page.more:
            break
    return sorted(set(names), key=str.lower)


def remote_choices(console: Console, name: str) -> Callable[[str], tuple[list[str] | None, str | None]]:
    app = console.app
    rt = app.runtime(name)

    def choices(setting: str) -> tuple[list[str] | None, str | None]:
        spec = app.registries.settings.spec(setting)
        role, entity_type = spec.role or "", spec.choices_from or ""
        system = rt.system_of(role)
        if system is None:
            return None, f"connect the {role} system to choose from its list"
        if entity_type not in app.connector_class(system).reads:
            return None, None
        try:
            return console.cached((name, setting), REMOTE_LIST_TTL,
                                  lambda: remote_names(app, name, role, entity_type)), None
        except Exception as exc:  # the page must still render; say why the list is missing
            reason = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            return None, f"could not load the list from {system}: {reason}"

    return choices


def option_lists(console: Console, name: str) -> Callable[[SettingSpec, str], tuple[list[tuple[str, str]] | None, str | None]]:
    """A setting's key or value options from its ``key_options`` / ``value_options`` (cached a
    few minutes), or why they could not be loaded."""
    app = console.app

    def lists(spec: SettingSpec, part: str) -> tuple[list[tuple[str, str]] | None, str | None]:
        source = spec.key_options if part == "key" else spec.value_options
        if source is None:
            return None, None
        try:
            found = console.cached((name, spec.name, part), REMOTE_LIST_TTL, lambda: list(source(app, name)))
        except Exception as exc:  # the page must still render; say why the list is missing
            reason = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            return None, f"could not load the list: {reason}"
        return (found or None), None

    return lists


async def config_page(request: Request) -> Response:
    console = console_of(request)
    name = request.path_params["name"]
    draft = request.session.pop("draft_settings", {})

    def load() -> dict[str, Any]:
        app = console.app
        conn = app.store.connection(name)
        outlets, warehouses = locations(app, name)
        current = app.settings(conn)
        systems = system_titles(app, name)
        main, advanced = build_fields(app.registries.settings, current, draft, remote_choices(console, name),
                                      systems, option_lists(console, name))
        short = system_titles(app, name, short=True)
        return {"outlets": outlets, "warehouses": warehouses, "main": main, "advanced": advanced,
                "pos_title": short.get("pos", "point of sale"), "inventory_title": short.get("inventory", "inventory")}

    ok, data = await attempt(request, load)
    if not ok:
        return redirect(request, "/")
    return render(request, "config.html", connection=name, tab="config", **data)


async def reload_locations(request: Request, form: FormData) -> Response:
    console = console_of(request)
    name = request.path_params["name"]
    console.forget_cached(name)
    ok, counts = await attempt(request, services.reload_locations, console.app, name)
    if ok:
        flash(request, "ok", f"Loaded {counts.outlets} outlets and {counts.warehouses} warehouses.")
    return redirect(request, f"/c/{name}/config#locations")


async def map_outlet(request: Request, form: FormData) -> Response:
    console = console_of(request)
    name = request.path_params["name"]
    outlet, warehouse = str(form.get("outlet") or ""), str(form.get("warehouse") or "")
    if not outlet or not warehouse:
        flash(request, "error", "Choose an outlet and a warehouse to map it to.")
        return redirect(request, f"/c/{name}/config#locations")
    ok, mapped = await attempt(request, services.map_outlet, console.app, name, outlet, warehouse)
    if ok:
        o, w = mapped
        flash(request, "ok", f"Outlet {o.name} now sells from warehouse {w.name}.")
    return redirect(request, f"/c/{name}/config#locations")


async def unmap_outlet(request: Request, form: FormData) -> Response:
    console = console_of(request)
    name = request.path_params["name"]
    ok, outlet = await attempt(request, services.unmap_outlet, console.app, name, str(form.get("outlet") or ""))
    if ok:
        flash(request, "ok", f"Outlet {outlet.name} is no longer mapped; its sales wait until it is.")
    return redirect(request, f"/c/{name}/config#locations")


async def save_settings(request: Request, form: FormData) -> Response:
    console = console_of(request)
    name = request.path_params["name"]
    app = console.app
    registry = app.registries.settings
    raw = submitted(registry, form)

    def save() -> tuple[list[str], list[str]]:
        conn = app.store.connection(name)
        changed = changes(registry, app.settings(conn), raw)
        notes = services.set_settings(app, name, changed).notes if changed else []
        return sorted(changed), notes

    ok, saved = await attempt(request, save)
    if ok:
        changed, notes = saved
        flash(request, "ok", f"Saved: {', '.join(changed)}." if changed else "Nothing changed.")
        for note in notes:
            flash(request, "warning", note)
    else:
        request.session["draft_settings"] = {k: v[:500] for k, v in raw.items()}
    return redirect(request, f"/c/{name}/config#settings")


def routes() -> list[BaseRoute]:
    return [
        route("/c/{name}/config", config_page, name="config"),
        route("/c/{name}/locations/reload", form_action(reload_locations), post=True, name="reload_locations"),
        route("/c/{name}/map", form_action(map_outlet), post=True, name="map_outlet"),
        route("/c/{name}/unmap", form_action(unmap_outlet), post=True, name="unmap_outlet"),
        route("/c/{name}/settings", form_action(save_settings), post=True, name="save_settings"),
    ]

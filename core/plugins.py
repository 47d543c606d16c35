"""The plugin manager, built per app (no import-time singleton), and the typed facade over it.

Built-in plugins are found through the ``tillbridge`` entry-point group exactly like third-party
ones. A plugin that fails to import, fails validation, or raises while registering is recorded in
``broken`` (shown by ``tillbridge plugins``) and skipped: it never takes the others down.

``TILLBRIDGE_LOAD_PLUGINS=a,b`` loads only those entry points; ``TILLBRIDGE_DISABLE_PLUGINS=c``
skips some.
"""

from __future__ import annotations

import inspect
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

import pluggy

from . import hookspecs
from .connector import Connector, DatedRecord, Outgoing, Page, PushResult
from .daemon.handlers import WebhookHandler
from .emulation import Emulator
from .entities import StockLevel
from .errors import TillbridgeError
from .events import SyncEvent
from .flows import Flow
from .settings import SettingSpec, SettingsRegistry

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "tillbridge"
CORE_PLUGIN_NAMES = frozenset({"tillbridge.defaults"})
T = TypeVar("T")


@dataclass
class PluginInfo:
    name: str
    version: str | None
    hooks: list[str]
    source: str
    error: str | None = None


@dataclass
class Registries:
    connectors: dict[str, type[Connector]] = field(default_factory=dict)
    emulators: dict[str, type[Emulator]] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    settings: SettingsRegistry = field(default_factory=SettingsRegistry)


def _env_list(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


class Plugins:
    """Owns a ``pluggy.PluginManager`` and exposes typed calls to the hooks."""

    def __init__(self, *, entry_points: bool = True, extra: Iterable[tuple[str, object]] = ()) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.broken: dict[str, str] = {}
        self._versions: dict[str, str | None] = {}
        self._sources: dict[str, str] = {}
        self._broken_hooks: dict[str, list[str]] = {}  # hooks of plugins unregistered as broken
        self._registries: Registries | None = None
        if entry_points:
            self._load_entry_points()
        for name, plugin in extra:
            self.register(plugin, name=name, source="explicit")

    # --- loading --------------------------------------------------------------------------------
    def _load_entry_points(self) -> None:
        only = _env_list("TILLBRIDGE_LOAD_PLUGINS")
        skip = _env_list("TILLBRIDGE_DISABLE_PLUGINS") or set()
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if (only is not None and ep.name not in only) or ep.name in skip:
                continue
            if self.pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a third party's import error must not stop us
                self.broken[ep.name] = f"failed to import: {type(exc).__name__}: {exc}"
                log.warning("plugin %s failed to import: %s", ep.name, exc)
                continue
            version = ep.dist.version if ep.dist else None
            self.register(plugin, name=ep.name, source="entry point", version=version)

    def register(self, plugin: object, *, name: str, source: str = "explicit", version: str | None = None) -> None:
        """Register a plugin object (module or instance); invalid ones are recorded as broken."""
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except Exception as exc:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            self.broken[name] = f"invalid: {exc}"
            log.warning("plugin %s is invalid: %s", name, exc)
            return
        self._versions[name] = version
        self._sources[name] = source
        self._registries = None

    def unregister(self, name: str) -> None:
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
            self._registries = None

    def infos(self) -> list[PluginInfo]:
        out = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            out.append(
                PluginInfo(name, self._versions.get(name), hooks, self._sources.get(name, "explicit"),
                           self.broken.get(name))
            )
        for name, error in self.broken.items():
            if not self.pm.has_plugin(name):
                out.append(PluginInfo(name, self._versions.get(name), self._broken_hooks.get(name, []),
                                      self._sources.get(name, "entry point"), error))
        return sorted(out, key=lambda p: p.name)

    # --- isolated calls, through pluggy ----------------------------------------------------------
    # pluggy stops a call at the first exception. To keep one plugin's bug from stopping the
    # others, a plugin that raises is recorded in ``broken`` and unregistered (so none of its hooks
    # is called again), and the call goes on without it. pluggy itself orders the
    # implementations, runs ``wrapper=True`` / ``hookwrapper=True`` implementations and applies
    # ``firstresult``.
    def _mark_broken(self, name: str, hook_name: str, exc: Exception) -> None:
        self.broken.setdefault(name, f"{hook_name} raised {type(exc).__name__}: {exc}")
        log.warning("plugin %s raised in %s: %s (skipped from now on)", name, hook_name, exc)
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self._broken_hooks[name] = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            self.pm.unregister(plugin)
            self._registries = None  # what it registered goes at the next look-up

    def _implementers(self, hook_name: str) -> list[tuple[str, object]]:
        """The plugins implementing ``hook_name``, in registration order (built-ins first)."""
        mine = {id(impl.plugin) for impl in getattr(self.pm.hook, hook_name).get_hookimpls()}
        return [(name, plugin) for name, plugin in self.pm.list_name_plugin()
                if plugin is not None and id(plugin) in mine]

    def _call_one(self, hook_name: str, name: str, plugin: object, kwargs: Mapping[str, Any], *,
                  refusals: bool = False) -> list[Any] | None:
        """Call one plugin's implementation(s) of a fan-out hook, through pluggy.

        Returns its results, or ``None`` when it raised (it is then broken). With ``refusals``, a
        :class:`TillbridgeError` is an answer (a refusal) and propagates. The core's own
        implementations are never skipped: their exceptions propagate."""
        caller = getattr(self.pm.hook, hook_name)
        others = [impl.plugin for impl in caller.get_hookimpls() if impl.plugin is not plugin]
        try:
            results: list[Any] = self.pm.subset_hook_caller(hook_name, others)(**kwargs)
        except Exception as exc:
            if name in CORE_PLUGIN_NAMES or (refusals and isinstance(exc, TillbridgeError)):
                raise
            self._mark_broken(name, hook_name, exc)
            return None
        return results

    def _call_each(self, hook_name: str, **kwargs: Any) -> None:
        """Fan out to every plugin, one at a time in registration order (so a built-in
        registered first keeps its names); one that raises is broken and the others go on."""
        for name, plugin in self._implementers(hook_name):
            self._call_one(hook_name, name, plugin, kwargs)

    def _culprit(self, hook_name: str, exc: BaseException) -> pluggy.HookImpl | None:
        """The implementation of ``hook_name`` an exception came from: the innermost frame of
        its traceback that runs one (a wrapper's own exception names the wrapper; an exception
        of an implementation it wrapped names that one)."""
        by_code: dict[Any, pluggy.HookImpl] = {}
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            function = getattr(impl.function, "__func__", impl.function)
            for fn in (function, inspect.unwrap(function)):
                code = getattr(fn, "__code__", None)
                if code is not None:
                    by_code[code] = impl
        found = None
        tb = exc.__traceback__
        while tb is not None:
            found = by_code.get(tb.tb_frame.f_code, found)
            tb = tb.tb_next
        return found

    def _first_result(self, hook_name: str, **kwargs: Any) -> Any:
        """Call a ``firstresult`` hook through pluggy, with isolation.

        A :class:`TillbridgeError` is meaningful (rate limited, record rejected...) and
        propagates, as does any exception of the core's defaults. A plugin's other exception
        makes it broken, and the call goes on with the implementations that had not run yet (those
        that ran passed with ``None``; none is called twice). When the plugin that raised is a
        wrapper, what it wrapped may have written already, so the call is not repeated: the
        exception propagates (the engine fails that flow's run) and the next call goes without it.
        """
        passed: list[object] = []
        while True:
            try:
                return self.pm.subset_hook_caller(hook_name, passed)(**kwargs)
            except TillbridgeError:
                raise
            except Exception as exc:
                impl = self._culprit(hook_name, exc)
                if impl is None or impl.plugin_name in CORE_PLUGIN_NAMES:
                    raise
                plain = [i for i in getattr(self.pm.hook, hook_name).get_hookimpls()
                         if not (i.wrapper or i.hookwrapper)][::-1]  # in the order pluggy calls them
                self._mark_broken(impl.plugin_name, hook_name, exc)
                if impl not in plain:
                    raise
                passed += [i.plugin for i in plain[:plain.index(impl)]]

    # --- registries ------------------------------------------------------------------------------
    @property
    def registries(self) -> Registries:
        if self._registries is None:
            self._registries = self._build_registries()
        return self._registries

    def _collect(self, hook_name: str, what: str, table: dict[str, T], key: Callable[[T], str],
                 field: str = "") -> None:
        """Run a ``register_*`` hook plugin by plugin into ``table``. A plugin that raises, or
        registers a name another plugin has, is broken and adds nothing."""
        owners: dict[str, str] = {}

        def registrar(name: str, staged: dict[str, T]) -> Callable[[T], None]:
            def register(item: T) -> None:
                k = key(item)
                if not k:
                    label = getattr(item, "__name__", type(item).__name__)
                    raise ValueError(f"{label} has no {field + ' ' if field else ''}name")
                if k in table and table[k] != item:
                    raise ValueError(f"{what} {k!r} is registered twice: by {owners[k]} and by {name}")
                if k in staged and staged[k] != item:
                    raise ValueError(f"{what} {k!r} is registered twice by {name}")
                staged[k] = item
            return register

        for name, plugin in self._implementers(hook_name):
            staged: dict[str, T] = {}
            if self._call_one(hook_name, name, plugin, {"register": registrar(name, staged)}) is not None:
                for k, item in staged.items():
                    table.setdefault(k, item)
                    owners.setdefault(k, name)

    def _build_registries(self) -> Registries:
        reg = Registries()
        self._collect("register_connectors", "connector", reg.connectors, lambda cls: cls.system, "system")
        self._collect("register_emulators", "emulator", reg.emulators, lambda cls: cls.name)
        self._collect("register_flows", "flow", reg.flows, lambda flow: flow.name)
        specs: dict[str, SettingSpec] = {}
        self._collect("register_settings", "setting", specs, lambda spec: spec.name)
        for spec in specs.values():
            reg.settings.register(spec)
        return reg

    # --- typed facade ----------------------------------------------------------------------------
    def register_commands(self, cli: Any) -> None:
        self._call_each("register_commands", cli=cli)

    def fetch_entities(
        self, connector: Connector, entity_type: str, cursor: str | None, since: datetime | None = None
    ) -> Page:
        page = self._first_result(
            "fetch_entities", connector=connector, entity_type=entity_type, cursor=cursor, since=since
        )
        assert page is not None, "the core default always answers"
        return page

    def push_entities(self, connector: Connector, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        results = self._first_result("push_entities", connector=connector, entity_type=entity_type, records=records)
        assert results is not None, "the core default always answers"
        return results

    def map_location(self, connection: str, location_id: str, from_system: str, to_system: str) -> str | None:
        return self._first_result(
            "map_location", connection=connection, location_id=location_id,
            from_system=from_system, to_system=to_system,
        )

    def compute_available(
        self, connector: Connector, levels: Sequence[StockLevel], include_assembled: bool
    ) -> list[StockLevel]:
        result = self._first_result(
            "compute_available", connector=connector, levels=levels, include_assembled=include_assembled
        )
        assert result is not None, "the core default always answers"
        return result

    def complete_settings(self, connection: str, before: Mapping[str, Any],
                          changes: Mapping[str, Any]) -> dict[str, Any]:
        """Extra values plugins add to a settings change (``complete_settings``, fanned out in
        registration order; each plugin sees what the earlier ones added).

        A :class:`TillbridgeError` (a refusal) propagates; any other exception makes that plugin
        broken. A name the change carries is never overridden."""
        extra: dict[str, Any] = {}
        for name, plugin in self._implementers("complete_settings"):
            kwargs = {"connection": connection, "before": before, "changes": {**changes, **extra}}
            for result in self._call_one("complete_settings", name, plugin, kwargs, refusals=True) or []:
                for key, value in (result or {}).items():
                    if key not in changes and key not in extra:
                        extra[key] = value
        return extra

    def fetch_dated(self, connector: Connector, entity_type: str, start: datetime, end: datetime,
                    references: Sequence[str] = ()) -> list[DatedRecord] | None:
        """A trading day's records (the reconciliation); ``None`` when no plugin answers."""
        return self._first_result(
            "fetch_dated", connector=connector, entity_type=entity_type, start=start, end=end,
            references=list(references),
        )

    def demo_scenario(self, emulators: dict[str, Emulator], stage: str) -> None:
        self._call_each("demo_scenario", emulators=emulators, stage=stage)

    def emit(self, event: SyncEvent) -> None:
        self._call_each("on_sync_event", event=event)

    def webhook_handlers(self) -> dict[str, WebhookHandler]:
        """System name → its webhook handler (``register_webhook_handlers``); duplicates refused."""
        handlers: dict[str, WebhookHandler] = {}
        self._collect("register_webhook_handlers", "webhook handler", handlers, lambda h: h.system, "system")
        return handlers


Register = Callable[[Any], None]

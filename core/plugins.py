"""The plugin manager, built per app (no import-time singleton), and the typed facade over it.

Built-in plugins are found through the ``tillbridge`` entry-point group exactly like third-party
ones. A plugin that fails to import, fails validation, or raises while registering is recorded in
``broken`` (shown by ``tillbridge plugins``) and skipped: it never takes the others down.

``TILLBRIDGE_LOAD_PLUGINS=a,b`` loads only those entry points; ``TILLBRIDGE_DISABLE_PLUGINS=c``
skips some.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from typing import Any, Callable, Iterable, Mapping, Sequence

import pluggy

from . import hookspecs
from .connector import Connector, DatedRecord, Outgoing, Page, PushResult
from .daemon.handlers import WebhookHandler
from .emulation import Emulator
from .entities import StockLevel
from .errors import TillbridgeError
from .events import SyncEvent
from .flows import Flow
from .settings import SettingsRegistry

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "tillbridge"
CORE_PLUGIN_NAMES = frozenset({"tillbridge.defaults"})


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
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            out.append(
                PluginInfo(name, self._versions.get(name), hooks, self._sources.get(name, "explicit"),
                           self.broken.get(name))
            )
        for name, error in self.broken.items():
            if not self.pm.has_plugin(name):
                out.append(PluginInfo(name, None, [], "entry point", error))
        return sorted(out, key=lambda p: p.name)

    # --- isolated calls --------------------------------------------------------------------------
    def _plugin_name(self, impl: pluggy.HookImpl) -> str:
        return impl.plugin_name

    def _call_each(self, hook_name: str, **kwargs: Any) -> None:
        """Fan out to every implementation, in registration order (so a built-in registered first
        keeps its names); one that raises is recorded and skipped."""
        caller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            try:
                impl.function(**{a: kwargs[a] for a in impl.argnames})
            except Exception as exc:
                name = self._plugin_name(impl)
                self.broken.setdefault(name, f"{hook_name} raised {type(exc).__name__}: {exc}")
                log.warning("plugin %s raised in %s: %s", name, hook_name, exc)

    def _first_result(self, hook_name: str, **kwargs: Any) -> Any:
        """``firstresult`` semantics with isolation.

        A :class:`TillbridgeError` is meaningful (rate limited, record rejected...) and propagates;
        any other exception from a plugin is recorded and that implementation is skipped.
        """
        caller = getattr(self.pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            try:
                result = impl.function(**{a: kwargs[a] for a in impl.argnames})
            except TillbridgeError:
                raise
            except Exception as exc:
                name = self._plugin_name(impl)
                if name in CORE_PLUGIN_NAMES:
                    raise
                self.broken.setdefault(name, f"{hook_name} raised {type(exc).__name__}: {exc}")
                log.warning("plugin %s raised in %s: %s", name, hook_name, exc)
                continue
            if result is not None:
                return result
        return None

    # --- registries ------------------------------------------------------------------------------
    @property
    def registries(self) -> Registries:
        if self._registries is None:
            self._registries = self._build_registries()
        return self._registries

    def _build_registries(self) -> Registries:
        reg = Registries()

        def add_connector(cls: type[Connector]) -> None:
            if not cls.system:
                raise ValueError(f"{cls.__name__} has no system name")
            if cls.system in reg.connectors and reg.connectors[cls.system] is not cls:
                raise ValueError(f"connector {cls.system!r} is registered twice")
            reg.connectors[cls.system] = cls

        def add_emulator(cls: type[Emulator]) -> None:
            if not cls.name:
                raise ValueError(f"{cls.__name__} has no name")
            if cls.name in reg.emulators and reg.emulators[cls.name] is not cls:
                raise ValueError(f"emulator {cls.name!r} is registered twice")
            reg.emulators[cls.name] = cls

        def add_flow(flow: Flow) -> None:
            if flow.name in reg.flows and reg.flows[flow.name] != flow:
                raise ValueError(f"flow {flow.name!r} is registered twice")
            reg.flows[flow.name] = flow

        self._call_each("register_connectors", register=add_connector)
        self._call_each("register_emulators", register=add_emulator)
        self._call_each("register_flows", register=add_flow)
        self._call_each("register_settings", register=reg.settings.register)
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
        return page  # type: ignore[no-any-return]

    def push_entities(self, connector: Connector, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        results = self._first_result("push_entities", connector=connector, entity_type=entity_type, records=records)
        assert results is not None, "the core default always answers"
        return results  # type: ignore[no-any-return]

    def map_location(self, connection: str, location_id: str, from_system: str, to_system: str) -> str | None:
        return self._first_result(  # type: ignore[no-any-return]
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
        return result  # type: ignore[no-any-return]

    def complete_settings(self, connection: str, before: Mapping[str, Any],
                          changes: Mapping[str, Any]) -> dict[str, Any]:
        """Extra values plugins add to a settings change (``complete_settings``, fanned out).

        A :class:`TillbridgeError` (a refusal) propagates; any other exception is recorded and
        that plugin skipped. A name the change carries is never overridden."""
        extra: dict[str, Any] = {}
        caller = self.pm.hook.complete_settings
        for impl in caller.get_hookimpls():
            kwargs = {"connection": connection, "before": before, "changes": {**changes, **extra}}
            try:
                result = impl.function(**{a: kwargs[a] for a in impl.argnames})
            except TillbridgeError:
                raise
            except Exception as exc:
                name = self._plugin_name(impl)
                self.broken.setdefault(name, f"complete_settings raised {type(exc).__name__}: {exc}")
                log.warning("plugin %s raised in complete_settings: %s", name, exc)
                continue
            for key, value in (result or {}).items():
                if key not in changes and key not in extra:
                    extra[key] = value
        return extra

    def fetch_dated(self, connector: Connector, entity_type: str, start: datetime, end: datetime,
                    references: Sequence[str] = ()) -> list[DatedRecord] | None:
        """A trading day's records (the reconciliation); ``None`` when no plugin answers."""
        return self._first_result(  # type: ignore[no-any-return]
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

        def add(handler: WebhookHandler) -> None:
            if not handler.system:
                raise ValueError(f"{type(handler).__name__} has no system name")
            if handler.system in handlers and handlers[handler.system] is not handler:
                raise ValueError(f"a webhook handler for {handler.system!r} is registered twice")
            handlers[handler.system] = handler

        self._call_each("register_webhook_handlers", register=add)
        return handlers


Register = Callable[[Any], None]

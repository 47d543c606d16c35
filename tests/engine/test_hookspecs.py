"""The hookspec contract: every hook is documented, typed and has a test here."""

from __future__ import annotations

import inspect
from pathlib import Path
from datetime import datetime
from decimal import Decimal
from typing import Any, Sequence

import click
import pytest
from click.testing import CliRunner

from tillbridge import (
    Connector,
    Flow,
    Outgoing,
    Page,
    Product,
    PushResult,
    SettingError,
    SettingSpec,
    StockLevel,
    hookimpl,
    hookspecs,
)
from tillbridge.plugins import Plugins
from tillbridge.runner import FlowRunner
from tillbridge import services

HOOKS = sorted(name for name, fn in vars(hookspecs).items()
               if callable(fn) and hasattr(fn, "tillbridge_spec"))


def test_every_hookspec_is_documented_and_typed() -> None:
    assert HOOKS, "no hookspecs found"
    for name in HOOKS:
        fn = getattr(hookspecs, name)
        doc = inspect.getdoc(fn) or ""
        assert len(doc) > 40, f"{name} needs a docstring for plugin authors"
        sig = inspect.signature(fn)
        for param in sig.parameters.values():
            assert param.annotation is not inspect.Parameter.empty, f"{name}({param.name}) has no type"
            assert f":param {param.name}:" in doc, f"{name} does not document {param.name}"
        assert sig.return_annotation is not inspect.Signature.empty, f"{name} has no return type"
        if getattr(fn, "tillbridge_spec")["firstresult"]:
            assert "first non-``None``" in doc, f"{name} must say it stops at the first non-None result"


def test_every_hookspec_has_a_test() -> None:
    """Each hook has a ``test_hook_<name>`` somewhere under tests/ (most of them below)."""
    tests_dir = Path(__file__).resolve().parents[1]
    text = "\n".join(p.read_text() for p in tests_dir.rglob("test_*.py"))
    missing = [name for name in HOOKS if f"def test_hook_{name}(" not in text]
    assert not missing, f"write test_hook_<name> for: {missing}"


# --- a tiny in-memory system, as a third party would write it -----------------------------------
class MemoryConnector(Connector):
    system = "memory"
    title = "In-memory test system"
    roles = frozenset({"pos", "inventory"})
    reads = frozenset({"product"})
    writes = frozenset({"product"})
    default_base_url = "http://memory.invalid"
    max_page_size = 2
    products: dict[str, Product] = {}
    written: dict[str, Product] = {}

    def check(self) -> str:
        return "memory ok"

    def fetch(self, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
        ordered = sorted(self.products.values(), key=lambda p: p.id)
        start = int(cursor or 0)
        chunk = ordered[start:start + self.max_page_size]
        return Page(chunk, str(start + len(chunk)), more=bool(chunk))

    def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        out = []
        for o in records:
            status = "updated" if o.target_id in self.written else "created"
            self.written[o.target_id] = o.entity  # type: ignore[assignment]
            out.append(PushResult(o.source_id, status, target_id=o.target_id))
        return out


class OtherMemory(MemoryConnector):
    system = "memory2"
    written = {}


class MemoryPlugin:
    @hookimpl
    def register_connectors(self, register):  # type: ignore[no-untyped-def]
        register(MemoryConnector)
        register(OtherMemory)


@pytest.fixture
def memory_app(make_app):  # type: ignore[no-untyped-def]
    app = make_app(None)
    app.plugins.register(MemoryPlugin(), name="memory")
    MemoryConnector.products = {f"p{i}": Product(id=f"p{i}", code=f"C{i}", description=f"Item {i}",
                                                 sell_price=Decimal(i)) for i in range(5)}
    MemoryConnector.written = {}
    OtherMemory.written = {}
    services.add_connection(app, "m", {"pos": ("memory", None), "inventory": ("memory2", None)})
    return app


def test_hook_register_connectors(memory_app) -> None:  # type: ignore[no-untyped-def]
    assert memory_app.registries.connectors["memory"] is MemoryConnector

    class Clash:
        @hookimpl
        def register_connectors(self, register):  # type: ignore[no-untyped-def]
            class Again(MemoryConnector):
                pass

            register(Again)

    memory_app.plugins.register(Clash(), name="clash")
    assert memory_app.registries.connectors["memory"] is MemoryConnector  # the first one stays
    assert "registered twice" in memory_app.plugins.broken["clash"]


def test_hook_register_emulators() -> None:
    emulators = Plugins().registries.emulators
    assert {"lightspeed", "unleashed", "xero"} <= set(emulators)


def test_hook_register_flows(memory_app) -> None:  # type: ignore[no-untyped-def]
    class Flows:
        @hookimpl
        def register_flows(self, register):  # type: ignore[no-untyped-def]
            register(Flow("mirror", "product", "pos", "inventory", description="copy"))

    memory_app.plugins.register(Flows(), name="flows")
    flow = memory_app.flows()["mirror"]
    result = FlowRunner(memory_app, memory_app.runtime("m")).run(flow)
    assert result.created == 5 and len(OtherMemory.written) == 5


def test_hook_register_settings(memory_app) -> None:  # type: ignore[no-untyped-def]
    class Settings:
        @hookimpl
        def register_settings(self, register):  # type: ignore[no-untyped-def]
            register(SettingSpec("memory_depth", "int", 3, "How deep.", minimum=1))

    memory_app.plugins.register(Settings(), name="settings")
    conn = memory_app.store.connection("m")
    assert memory_app.settings(conn)["memory_depth"] == 3
    assert memory_app.set_settings(conn, {"memory_depth": "7"})["memory_depth"] == 7
    with pytest.raises(SettingError):
        memory_app.set_settings(conn, {"memory_depth": "0"})


def test_hook_complete_settings(memory_app) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, dict, dict]] = []

    class Stamp:
        @hookimpl
        def register_settings(self, register):  # type: ignore[no-untyped-def]
            register(SettingSpec("memory_on", "bool", False, "Switch."))
            register(SettingSpec("memory_since", "str", None, "When the switch went on."))

        @hookimpl
        def complete_settings(self, connection, before, changes):  # type: ignore[no-untyped-def]
            seen.append((connection, dict(before), dict(changes)))
            if changes.get("memory_since") == "never":
                raise SettingError("memory_since cannot be 'never'", fix="give a date")
            if changes.get("memory_on") and not before.get("memory_on"):
                return {"memory_since": "2026-01-01", "memory_on": False}  # a named change is not overridden
            return None

    class Broken:
        @hookimpl
        def complete_settings(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    memory_app.plugins.register(Stamp(), name="stamp")
    memory_app.plugins.register(Broken(), name="broken")
    conn = memory_app.store.connection("m")
    values = memory_app.set_settings(conn, {"memory_on": "on"})
    assert values["memory_on"] is True and values["memory_since"] == "2026-01-01"
    assert seen[-1] == ("m", {**memory_app.registries.settings.defaults(), "memory_on": False}, {"memory_on": True})
    assert memory_app.set_settings(conn, {"memory_on": "off"})["memory_since"] == "2026-01-01"  # nothing added
    with pytest.raises(SettingError, match="cannot be 'never'"):
        memory_app.set_settings(conn, {"memory_since": "never"})
    assert memory_app.store.settings(conn.id)["memory_since"] == "2026-01-01"  # refused: nothing saved
    assert "complete_settings raised RuntimeError" in memory_app.plugins.broken["broken"]


def test_hook_register_commands() -> None:
    class Commands:
        @hookimpl
        def register_commands(self, cli):  # type: ignore[no-untyped-def]
            @cli.command("hello-memory")
            def hello() -> None:
                click.echo("hello from a plugin")

    plugins = Plugins(entry_points=False, extra=[("commands", Commands())])
    group = click.Group("t")
    plugins.register_commands(group)
    assert CliRunner().invoke(group, ["hello-memory"]).output == "hello from a plugin\n"


def test_hook_fetch_entities(memory_app) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []

    class OnlyFirstTwo:
        @hookimpl(tryfirst=True)
        def fetch_entities(self, connector, entity_type, cursor, since):  # type: ignore[no-untyped-def]
            calls.append(connector.system)
            if connector.system != "memory":
                return None  # not ours: pass
            return Page([MemoryConnector.products["p0"], MemoryConnector.products["p1"]], "done", more=False)

    memory_app.plugins.register(OnlyFirstTwo(), name="filter")
    result = services.sync_once(memory_app, "m", only=["products"])[0]
    assert result.created == 2 and calls == ["memory"]


def test_hook_push_entities(memory_app) -> None:  # type: ignore[no-untyped-def]
    seen: list[int] = []

    class Audit:
        @hookimpl(tryfirst=True)
        def push_entities(self, connector, entity_type, records):  # type: ignore[no-untyped-def]
            seen.append(len(records))
            return None  # observe only: the core default still writes

    memory_app.plugins.register(Audit(), name="audit")
    services.sync_once(memory_app, "m", only=["products"])
    assert sum(seen) == 5 and len(OtherMemory.written) == 5


def test_hook_map_location(memory_app) -> None:  # type: ignore[no-untyped-def]
    rt = memory_app.runtime("m")
    memory_app.store.map_location(rt.id, "outlet-1", "wh-1")
    assert memory_app.plugins.map_location("m", "outlet-1", "memory", "memory2") == "wh-1"
    assert memory_app.plugins.map_location("m", "wh-1", "memory2", "memory") == "outlet-1"
    assert memory_app.plugins.map_location("m", "outlet-2", "memory", "memory2") is None

    class Everything:
        @hookimpl
        def map_location(self, connection, location_id, from_system, to_system):  # type: ignore[no-untyped-def]
            return "wh-all"

    memory_app.plugins.register(Everything(), name="everything")
    assert memory_app.plugins.map_location("m", "outlet-2", "memory", "memory2") == "wh-all"


def test_hook_compute_available(memory_app) -> None:  # type: ignore[no-untyped-def]
    level = StockLevel(id="a@w", product_id="a", location_id="w", on_hand=Decimal(10), allocated=Decimal(3),
                       available=Decimal(0))
    connector = memory_app.runtime("m").connector("pos")
    assert memory_app.plugins.compute_available(connector, [level], False)[0].available == Decimal(7)


def test_hook_on_sync_event(memory_app) -> None:  # type: ignore[no-untyped-def]
    kinds: list[str] = []

    class Observer:
        @hookimpl
        def on_sync_event(self, event):  # type: ignore[no-untyped-def]
            kinds.append(event.kind)

    class Broken:
        @hookimpl
        def on_sync_event(self, event):  # type: ignore[no-untyped-def]
            raise RuntimeError("observer bug")

    memory_app.plugins.register(Observer(), name="observer")
    memory_app.plugins.register(Broken(), name="broken-observer")
    result = services.sync_once(memory_app, "m", only=["products"])[0]
    assert result.created == 5  # a raising observer stops nothing
    assert kinds.count("record_written") == 5 and kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert "observer bug" in memory_app.plugins.broken["broken-observer"]


def test_hook_demo_scenario() -> None:
    stages: list[tuple[str, Any]] = []

    class Story:
        @hookimpl
        def demo_scenario(self, emulators, stage):  # type: ignore[no-untyped-def]
            stages.append((stage, sorted(emulators)))

    plugins = Plugins(entry_points=False, extra=[("story", Story())])
    plugins.demo_scenario({"x": object()}, "seeded")  # type: ignore[dict-item]
    assert stages == [("seeded", ["x"])]


def test_pagination_resumes_from_the_cursor_and_reruns_write_nothing(memory_app) -> None:  # type: ignore[no-untyped-def]
    flow = memory_app.flows()["products"]
    runner = FlowRunner(memory_app, memory_app.runtime("m"))
    first = runner.run(flow, max_pages=1)
    assert first.created == 2  # page size 2
    rest = runner.run(flow)
    assert rest.created == 3 and rest.unchanged == 0
    again = runner.run(flow)
    assert again.fetched == 0
    MemoryConnector.products["p9"] = Product(id="p9", code="C9", description="new", sell_price=Decimal(1))
    # the fake source pages by offset, so the new record appears after the stored cursor
    assert runner.run(flow).created == 1


def test_hook_register_webhook_handlers() -> None:
    from tillbridge.daemon.handlers import WebhookEvent, WebhookHandler, WebhookRejected, WebhookRequest

    class MemoryHooks(WebhookHandler):
        system = "memory"
        event_flows = {"product.changed": ("products",)}

        def verify(self, request, credentials, *, max_age):  # type: ignore[no-untyped-def]
            if request.headers.get("x-secret") != credentials.get("secret"):
                raise WebhookRejected("bad secret")

        def parse(self, request):  # type: ignore[no-untyped-def]
            return [WebhookEvent(delivery_key=request.body.decode(), event_type="product.changed")]

    class Hooks:
        @hookimpl
        def register_webhook_handlers(self, register):  # type: ignore[no-untyped-def]
            register(MemoryHooks())

    plugins = Plugins(extra=[("memory-hooks", Hooks())])
    handlers = plugins.webhook_handlers()
    assert {"lightspeed", "unleashed", "memory"} <= set(handlers)  # built-ins register theirs too
    handler = handlers["memory"]
    request = WebhookRequest(headers={"x-secret": "s"}, body=b"d1", received_at=0.0)
    handler.verify(request, {"secret": "s"}, max_age=None)
    with pytest.raises(WebhookRejected):
        handler.verify(request, {"secret": "other"}, max_age=None)
    assert handler.parse(request)[0].delivery_key == "d1"
    assert handler.flows_for("product.changed") == ("products",)

    class Twice:
        @hookimpl
        def register_webhook_handlers(self, register):  # type: ignore[no-untyped-def]
            register(MemoryHooks())

    plugins.register(Twice(), name="twice")
    plugins.webhook_handlers()
    assert "registered twice" in plugins.broken["twice"]


# --- pluggy calls the hooks: wrappers run as wrappers; broken plugins are skipped ------------------
def test_a_wrapper_intercepts_fetch_entities_and_can_alter_the_page(memory_app) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, str | None]] = []

    class FirstOnly:
        @hookimpl(wrapper=True)
        def fetch_entities(self, connector, entity_type, cursor, since):  # type: ignore[no-untyped-def]
            seen.append((connector.system, cursor))
            page = yield  # the core default (or a plugin answering first) fetches
            assert isinstance(page, Page)
            return Page(page.records[:1], "end", more=False)

    memory_app.plugins.register(FirstOnly(), name="first-only")
    result = services.sync_once(memory_app, "m", only=["products"])[0]
    assert seen == [("memory", None)]
    assert result.created == 1 and [p.code for p in OtherMemory.written.values()] == ["C0"]


def test_an_old_style_hookwrapper_intercepts_fetch_entities(memory_app) -> None:  # type: ignore[no-untyped-def]
    class Reverse:
        @hookimpl(hookwrapper=True)
        def fetch_entities(self, connector, entity_type, cursor, since):  # type: ignore[no-untyped-def]
            outcome = yield
            page = outcome.get_result()
            outcome.force_result(Page(list(reversed(page.records)), page.cursor, more=page.more))

    memory_app.plugins.register(Reverse(), name="reverse")
    connector = memory_app.runtime("m").connector("pos")
    page = memory_app.plugins.fetch_entities(connector, "product", None)
    assert [p.id for p in page.records] == ["p1", "p0"]


def test_a_plugin_raising_in_fetch_entities_is_broken_then_skipped(memory_app) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []

    class Observer:  # registered first, called after the buggy one (pluggy calls the newest first)
        @hookimpl
        def fetch_entities(self, connector, entity_type, cursor, since):  # type: ignore[no-untyped-def]
            calls.append("observer")
            return None

    class Buggy:
        @hookimpl
        def fetch_entities(self, connector, entity_type, cursor, since):  # type: ignore[no-untyped-def]
            calls.append("buggy")
            raise KeyError("cache miss handled badly")

    memory_app.plugins.register(Observer(), name="observer")
    memory_app.plugins.register(Buggy(), name="buggy")
    connector = memory_app.runtime("m").connector("pos")
    page = memory_app.plugins.fetch_entities(connector, "product", None)
    assert [p.id for p in page.records] == ["p0", "p1"]  # the call went on to the core default
    assert calls == ["buggy", "observer"]  # each implementation called once
    assert "fetch_entities raised KeyError" in memory_app.plugins.broken["buggy"]
    assert not memory_app.plugins.pm.has_plugin("buggy")

    calls.clear()
    result = services.sync_once(memory_app, "m", only=["products"])[0]
    assert result.created == 5 and "buggy" not in calls  # skipped from now on, in every hook
    info = {p.name: p for p in memory_app.plugins.infos()}
    assert info["buggy"].error and info["buggy"].hooks == ["fetch_entities"] and info["observer"].error is None


def test_a_raising_wrapper_is_blamed_not_what_it_wrapped(memory_app) -> None:  # type: ignore[no-untyped-def]
    class BadWrapper:
        @hookimpl(wrapper=True)
        def fetch_entities(self, connector, entity_type, cursor, since):  # type: ignore[no-untyped-def]
            page = yield
            raise ValueError(f"wrapper bug after {len(page.records)} records")

    memory_app.plugins.register(BadWrapper(), name="bad-wrapper")
    connector = memory_app.runtime("m").connector("pos")
    with pytest.raises(ValueError, match="wrapper bug"):  # what it wrapped ran: not repeated
        memory_app.plugins.fetch_entities(connector, "product", None)
    assert "wrapper bug" in memory_app.plugins.broken["bad-wrapper"]
    assert "tillbridge.defaults" not in memory_app.plugins.broken
    assert len(memory_app.plugins.fetch_entities(connector, "product", None).records) == 2  # skipped now


def test_a_broken_plugin_is_skipped_by_fan_out_hooks_and_registers_nothing(memory_app) -> None:  # type: ignore[no-untyped-def]
    kinds: list[str] = []

    class HalfRegistered:
        @hookimpl
        def register_flows(self, register):  # type: ignore[no-untyped-def]
            register(Flow("half", "product", "pos", "inventory", description="never kept"))
            raise RuntimeError("register bug")

        @hookimpl
        def on_sync_event(self, event):  # type: ignore[no-untyped-def]
            kinds.append(event.kind)

    memory_app.plugins.register(HalfRegistered(), name="half")
    assert "half" not in memory_app.flows()  # its partial registrations are not kept
    services.sync_once(memory_app, "m", only=["products"])
    assert kinds == []  # broken while registering: its observer is not called either
    assert "register bug" in memory_app.plugins.broken["half"]

"""The ``tillbridge`` pytest plugin (entry point ``pytest11``): fixtures for plugin authors.

* ``tillbridge_app``: an :class:`~tillbridge.testing.App` on a temporary SQLite database, with
  the installed plugins loaded.
* ``tillbridge_register_plugin``: ``register(plugin, name=None, *, app=None)`` into
  ``tillbridge_app`` (or another app) for one test only (a module, or an instance of a class
  with ``@hookimpl`` methods).
* ``tillbridge_emulator``: ``start(EmulatorClass, **kwargs) -> (emulator, base_url)``, stopped
  after the test.
* ``tillbridge_system``: ``start("unleashed", options={...}) -> SystemUnderTest``: the
  registered emulator of an installed connector, running, with working credentials.
* ``tillbridge_connection``: ``make("shop", pos=..., inventory=...) -> ConnectionHarness`` on
  ``tillbridge_app``, for end-to-end syncs through the real flows.

The connector conformance suite is a class to subclass: :class:`tillbridge.testing.ConnectorConformance`.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any, Callable, Iterator

import pytest

from ..app import App
from ..emulation import Emulator
from ..errors import ConfigError
from .connection import ConnectionHarness
from .helpers import running_emulator, temporary_app
from .systems import SystemUnderTest, start_emulated_system


@pytest.fixture
def tillbridge_app() -> Iterator[App]:
    with temporary_app() as app:
        yield app


@pytest.fixture
def tillbridge_register_plugin(tillbridge_app: App) -> Iterator[Callable[..., None]]:
    registered: list[tuple[App, str]] = []

    def register(plugin: object, name: str | None = None, *, app: App | None = None) -> None:
        target = app if app is not None else tillbridge_app
        plugin_name = name or f"test-plugin-{len(registered)}"
        target.plugins.register(plugin, name=plugin_name, source="test")
        registered.append((target, plugin_name))

    yield register
    for target, name in registered:
        target.plugins.unregister(name)


@pytest.fixture
def tillbridge_emulator() -> Iterator[Callable[..., tuple[Emulator, str]]]:
    stack: list[Any] = []

    def start(cls: type[Emulator], **kwargs: Any) -> tuple[Emulator, str]:
        emulator = cls(**kwargs)
        context = running_emulator(emulator)
        server = context.__enter__()
        stack.append(context)
        return emulator, server.url

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


@pytest.fixture
def tillbridge_system(tillbridge_app: App) -> Iterator[Callable[..., SystemUnderTest]]:
    with ExitStack() as stack:

        def start(system: str, **emulator_kwargs: Any) -> SystemUnderTest:
            connector = tillbridge_app.registries.connectors.get(system)
            if connector is None:
                raise ConfigError(f"no connector {system!r} is installed",
                                  fix="install the plugin that provides it")
            return start_emulated_system(tillbridge_app, stack, connector, **emulator_kwargs)

        yield start


@pytest.fixture
def tillbridge_connection(tillbridge_app: App) -> Callable[..., ConnectionHarness]:
    def make(name: str = "shop", **roles: SystemUnderTest) -> ConnectionHarness:
        return ConnectionHarness(tillbridge_app, name, **roles)

    return make

"""The ``tillbridge`` pytest plugin (entry point ``pytest11``): fixtures for plugin authors.

* ``tillbridge_app``: an :class:`~tillbridge.app.App` on a temporary SQLite database, with the
  installed plugins loaded.
* ``tillbridge_register_plugin``: ``register(plugin, name=...)`` for one test only.
* ``tillbridge_emulator``: ``start(EmulatorClass, **kwargs) -> (emulator, base_url)``, stopped
  after the test.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from ..app import App
from ..emulation import Emulator
from .helpers import running_emulator, temporary_app


@pytest.fixture
def tillbridge_app() -> Iterator[App]:
    with temporary_app() as app:
        yield app


@pytest.fixture
def tillbridge_register_plugin(tillbridge_app: App) -> Iterator[Callable[..., None]]:
    names: list[str] = []

    def register(plugin: object, name: str | None = None) -> None:
        plugin_name = name or f"test-plugin-{len(names)}"
        tillbridge_app.plugins.register(plugin, name=plugin_name, source="test")
        names.append(plugin_name)

    yield register
    for name in names:
        tillbridge_app.plugins.unregister(name)


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

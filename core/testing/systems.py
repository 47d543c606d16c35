"""A remote system for a test: usually an installed emulator, served on loopback.

Connectors name their emulator (``Connector.emulator``); the emulator class comes from the
``register_emulators`` hook, so a test finds it exactly as ``tillbridge demo`` does, without
importing the plugin that provides it.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from ..app import App
from ..connector import Connector
from ..emulation import Emulator
from ..errors import ConfigError
from .helpers import running_emulator


@dataclass
class SystemUnderTest:
    """Where a connector under test talks to, and with which credentials.

    :param system: the connector's system name (``"unleashed"``).
    :param base_url: what goes into ``ConnectorContext.base_url`` (an emulator's URL, a folder...).
    :param credentials: working credentials (only the connector's declared fields).
    :param emulator: the running emulator, when there is one (fault injection, inspection).
    """

    system: str
    base_url: str
    credentials: dict[str, Any] = field(default_factory=dict)
    emulator: Emulator | None = None


def emulator_class_for(app: App, connector: type[Connector]) -> type[Emulator]:
    """The registered emulator that stands in for ``connector``'s system."""
    if not connector.emulator:
        raise ConfigError(f"connector {connector.system!r} names no emulator",
                          fix="set `emulator = \"<name>\"` on the connector class, or give the system yourself")
    try:
        return app.registries.emulators[connector.emulator]
    except KeyError:
        known = ", ".join(sorted(app.registries.emulators)) or "none"
        raise ConfigError(f"no emulator {connector.emulator!r} is registered (registered: {known})",
                          fix="register it in your plugin's `register_emulators` hook") from None


def start_emulated_system(app: App, stack: ExitStack, connector: type[Connector], *,
                          emulator_class: type[Emulator] | None = None, **emulator_kwargs: Any) -> SystemUnderTest:
    """Start ``connector``'s emulator on a free loopback port until ``stack`` closes.

    :param emulator_kwargs: passed to the emulator (``seed=``, ``options=``, ``faults=``...).
    """
    cls = emulator_class or emulator_class_for(app, connector)
    emulator = cls(**emulator_kwargs)
    server = stack.enter_context(running_emulator(emulator))
    credentials = connector.emulator_credentials(emulator, server.url)
    return SystemUnderTest(connector.system, server.url, credentials, emulator)


__all__ = ["SystemUnderTest", "emulator_class_for", "start_emulated_system"]

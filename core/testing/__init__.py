"""Testing kit for tillbridge and its plugins (also a pytest plugin: ``tillbridge.testing``).

Public, like ``tillbridge`` itself: plugin authors test with these and nothing else.

* ``temporary_app()``, ``running_emulator()``: an app on a throw-away SQLite file, an emulator
  served on loopback (usable without pytest).
* ``SystemUnderTest``, ``start_emulated_system()``: a connector's registered emulator, running,
  with working credentials.
* ``build_connector()``, ``read_feed()``: a connector wired as the engine wires it, and a feed
  read to its end.
* ``ConnectionHarness``: a connection between systems, synced through the real flows.
* ``ConnectorConformance``: the connector conformance suite (needs pytest).
* ``private_imports()``: which imports of a package reach past the public surface.

The pytest fixtures (``tillbridge_app``, ``tillbridge_register_plugin``, ``tillbridge_emulator``,
``tillbridge_system``, ``tillbridge_connection``) come from :mod:`tillbridge.testing.pytest_plugin`,
loaded automatically through the ``pytest11`` entry point.
"""

from __future__ import annotations

from typing import Any

from ..app import App
from ..runner import RunResult
from .connection import ConnectionHarness
from .connectors import FeedRead, build_connector, close_connector, read_feed
from .helpers import running_emulator, temporary_app
from .public_api import PUBLIC_MODULES, ImportViolation, private_imports
from .samples import SAMPLE_CODE, default_sample
from .systems import SystemUnderTest, emulator_class_for, start_emulated_system

__all__ = [
    "PUBLIC_MODULES",
    "SAMPLE_CODE",
    "App",
    "ConformanceRun",
    "ConnectionHarness",
    "ConnectorConformance",
    "FeedRead",
    "ImportViolation",
    "RunResult",
    "SystemUnderTest",
    "build_connector",
    "close_connector",
    "default_sample",
    "emulator_class_for",
    "private_imports",
    "read_feed",
    "running_emulator",
    "start_emulated_system",
    "temporary_app",
]


def __getattr__(name: str) -> Any:
    # The conformance suite imports pytest; load it only when asked, so that the helpers above
    # work in an installation without the test extras.
    if name in {"ConnectorConformance", "ConformanceRun"}:
        from . import conformance

        return getattr(conformance, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

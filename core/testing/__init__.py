"""Testing kit for tillbridge and its plugins (also a pytest plugin: ``tillbridge.testing``)."""

from __future__ import annotations

from .helpers import running_emulator, temporary_app

__all__ = ["running_emulator", "temporary_app"]

"""Where tillbridge keeps its files (platformdirs: the user's data directory)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    """``TILLBRIDGE_HOME`` if set, else the platform's user data directory."""
    override = os.environ.get("TILLBRIDGE_HOME")
    path = Path(override) if override else Path(platformdirs.user_data_dir("tillbridge", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path

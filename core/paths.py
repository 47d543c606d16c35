"""Where tillbridge keeps its files (platformdirs: the user's data directory)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from .errors import StorageError


def data_dir() -> Path:
    """``TILLBRIDGE_HOME`` if set, else the platform's user data directory."""
    override = os.environ.get("TILLBRIDGE_HOME")
    path = Path(override) if override else Path(platformdirs.user_data_dir("tillbridge", appauthor=False))
    try:
        # Owner-only: it holds the database, the key file and the credentials they protect.
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create the tillbridge data folder {path}: {exc.strerror or exc}",
            fix="set TILLBRIDGE_HOME to a folder this user can write (or fix that folder's permissions)",
        ) from None
    return path

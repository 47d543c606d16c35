"""Credentials encryption at rest (Fernet: AES-128-CBC + HMAC-SHA256, from ``cryptography``).

The key comes from ``TILLBRIDGE_SECRET_KEY`` or, failing that, a key file created on first run
in the data directory with owner-only permissions. Losing the key means re-entering credentials;
it is never printed or logged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from .errors import ConfigError
from .paths import data_dir

KEY_FILE_NAME = "secret.key"


def _key_file() -> Path:
    return data_dir() / KEY_FILE_NAME


def load_or_create_key() -> bytes:
    env = os.environ.get("TILLBRIDGE_SECRET_KEY")
    if env:
        return env.encode()
    path = _key_file()
    if path.exists():
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


class SecretBox:
    """Encrypts and decrypts JSON objects of credentials."""

    def __init__(self, key: bytes | None = None) -> None:
        try:
            self._fernet = Fernet(key or load_or_create_key())
        except (ValueError, TypeError):
            raise ConfigError(
                "the encryption key is not a valid Fernet key",
                fix="set TILLBRIDGE_SECRET_KEY to a key made by `tillbridge keygen`, or unset it",
            ) from None

    def seal(self, values: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(values, sort_keys=True).encode())

    def open(self, token: bytes) -> dict[str, Any]:
        try:
            return json.loads(self._fernet.decrypt(token))  # type: ignore[no-any-return]
        except InvalidToken:
            raise ConfigError(
                "stored credentials cannot be decrypted with this key",
                fix="use the key they were saved with (TILLBRIDGE_SECRET_KEY or the key file), "
                "or connect the account again",
            ) from None


def redact(values: dict[str, Any], secret_names: set[str]) -> dict[str, Any]:
    """A copy fit for display: secret values replaced by a mask."""
    return {k: ("••••••" if k in secret_names and v else v) for k, v in values.items()}

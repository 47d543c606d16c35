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

from .errors import ConfigError, CredentialsUnreadable, StorageError
from .paths import data_dir

KEY_FILE_NAME = "secret.key"


def _key_file() -> Path:
    return data_dir() / KEY_FILE_NAME


def _load_key() -> tuple[bytes, str]:
    """(key, where it came from, as the user knows it)."""
    env = os.environ.get("TILLBRIDGE_SECRET_KEY")
    if env:
        return env.encode(), "TILLBRIDGE_SECRET_KEY"
    path = _key_file()
    try:
        if path.exists():
            return path.read_bytes().strip(), f"the key file {path}"
        key = Fernet.generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        return key, f"the key file {path}, made just now because it was missing"
    except OSError as exc:
        raise StorageError(
            f"cannot read or create the key file {path}: {exc.strerror or exc}",
            fix="let the user running tillbridge read and write that folder, or set TILLBRIDGE_SECRET_KEY",
        ) from None


def load_or_create_key() -> bytes:
    return _load_key()[0]


class SecretBox:
    """Encrypts and decrypts JSON objects of credentials.

    ``source`` says where the key came from (``TILLBRIDGE_SECRET_KEY``, the key file), for
    messages; the key itself is never shown.
    """

    def __init__(self, key: bytes | None = None) -> None:
        key, self.source = (key, "the encryption key given") if key else _load_key()
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            if self.source.startswith("the key file"):
                raise ConfigError(
                    f"{self.source} does not hold a valid encryption key (damaged or replaced)",
                    fix="restore that file from your backup; or move it away (a new key is made) and connect "
                    "each connection's accounts again with `tillbridge connect`",
                ) from None
            raise ConfigError(
                f"the encryption key in {self.source} is not a valid Fernet key",
                fix="set TILLBRIDGE_SECRET_KEY to the key the credentials were saved with (44 characters of "
                "URL-safe base64), or unset it to use the key file",
            ) from None

    def seal(self, values: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(values, sort_keys=True).encode())

    def open(self, token: bytes) -> dict[str, Any]:
        try:
            return json.loads(self._fernet.decrypt(token))
        except InvalidToken:
            raise CredentialsUnreadable(
                f"stored credentials cannot be decrypted with the key from {self.source}",
                fix="use the key they were saved with (TILLBRIDGE_SECRET_KEY or the key file), "
                "or connect the account again",
            ) from None


def redact(values: dict[str, Any], secret_names: set[str]) -> dict[str, Any]:
    """A copy fit for display: secret values replaced by a mask."""
    return {k: ("••••••" if k in secret_names and v else v) for k, v in values.items()}

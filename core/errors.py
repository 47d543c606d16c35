"""The error tree. The runner's retry and logging policy keys off these classes.

::

    TillbridgeError                 anything tillbridge raises on purpose
    ├── ConfigError                 the user must change something; never retried
    │   ├── UnknownConnection
    │   ├── SettingError
    │   ├── Unsupported
    │   ├── CredentialsUnreadable  saved credentials do not decrypt with this key
    │   └── StorageError        the database or data directory cannot be used as it is
    ├── AuthError                   credentials refused; refreshed once, then reported
    ├── RemoteError                 the remote system answered with an error we did not expect
    │   ├── RateLimited             wait as the remote said (``retry_after`` seconds), then retry
    │   ├── TransientError          5xx, timeouts, dropped connections: retry with backoff
    │   └── QuotaExhausted          a daily/monthly budget is spent: defer the flow, say so
    └── RecordRejected              one record cannot sync; logged with its reason and fix,
        └── RecordHeld              the record waits for something (a mapping, a product) and
                                    goes through on re-import once the cause is fixed

Every error carries a message written for the person who has to act on it, and optionally a
``fix`` (what to do). Messages never contain secrets.
"""

from __future__ import annotations


class TillbridgeError(Exception):
    """Base of every error tillbridge raises on purpose."""

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return self.message if not self.fix else f"{self.message} ({self.fix})"


class ConfigError(TillbridgeError):
    """Something the user must change (a setting, a mapping, a URL); retrying will not help."""


class UnknownConnection(ConfigError):
    """No connection with that name."""


class SettingError(ConfigError):
    """A setting name or value was refused."""


class Unsupported(ConfigError):
    """A connector was asked for something it does not do (an entity type, a direction)."""


class CredentialsUnreadable(ConfigError):
    """Saved credentials do not decrypt with this key (the key file lost or replaced, another
    ``TILLBRIDGE_SECRET_KEY``): the account must be connected again, or the key restored."""


class StorageError(ConfigError):
    """The database or the data directory cannot be used as it is (missing, damaged, read-only,
    full, written by a newer tillbridge); the message names the file and what to do."""


class AuthError(TillbridgeError):
    """The remote system refused our credentials (after one refresh where refresh applies)."""


class RemoteError(TillbridgeError):
    """The remote system answered with an error we could not map to anything more specific."""

    def __init__(self, message: str, *, status: int | None = None, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.status = status


class TransientError(RemoteError):
    """A temporary failure (5xx, timeout, dropped connection): retry later with backoff."""


class RateLimited(RemoteError):
    """The remote asked us to slow down; ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class QuotaExhausted(RemoteError):
    """A daily or monthly API budget is spent; the flow is deferred until it resets."""


class RecordRejected(TillbridgeError):
    """One record cannot be written; the rest of the batch goes on.

    :param key: the record's key in its source system (shown in the connection log).
    """

    def __init__(self, message: str, *, key: str = "", fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.key = key


class RecordHeld(RecordRejected):
    """The record waits for a cause outside it (unmapped outlet, unknown product)."""


__all__ = [
    "AuthError",
    "ConfigError",
    "CredentialsUnreadable",
    "QuotaExhausted",
    "RateLimited",
    "RecordHeld",
    "RecordRejected",
    "RemoteError",
    "SettingError",
    "StorageError",
    "TillbridgeError",
    "TransientError",
    "UnknownConnection",
    "Unsupported",
]

"""Errors raised by the store's operations; the HTTP layer turns them into vendor responses."""

from __future__ import annotations

from typing import Any


class StoreError(ValueError):
    """An operation refused; ``status`` and ``body`` are what the 2.0 API answers.

    A ``ValueError`` (``NotFound`` also a ``LookupError``) so Python callers of the emulator
    can catch it without importing this module.
    """

    status = 400
    title = "Bad Request"

    def __init__(self, message: str, *, status: int | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.details = details

    def body(self) -> dict[str, Any]:
        # https://x-series-api.lightspeedhq.com/reference: a small object with ``error`` and sometimes
        # ``message``/``details``; the emulator uses {"error": <title>, "message": <detail>}.
        body: dict[str, Any] = {"error": self.title, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class NotFound(StoreError, LookupError):
    status = 404
    title = "Not Found"


class Unprocessable(StoreError):
    status = 422
    title = "Unprocessable Entity"


class Conflict(StoreError):
    status = 409
    title = "Conflict"


class BadRequest(StoreError):
    status = 400
    title = "Bad Request"

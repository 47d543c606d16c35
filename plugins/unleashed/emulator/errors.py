"""The one exception the emulator's domain code raises, and the error body it becomes.

https://apidocs.unleashedsoftware.com/ [?]: no public source shows Unleashed's error body. We use the
shape the notes suggest, ``{"Description": "...", "Items": [{"Field": "...", "Message": "..."}]}``;
clients are expected to treat it as opaque text and surface it.
"""

from __future__ import annotations

from typing import Any


class UnleashedError(Exception):
    """A request the emulated API refuses: HTTP ``status`` plus a description and field items."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        field: str | None = None,
        items: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.items: list[dict[str, str]] = list(items or [])
        if field is not None and not self.items:
            self.items.append({"Field": field, "Message": description})
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        return {"Description": self.description, "Items": self.items, **self.extra}


def not_found(resource: str, guid: str) -> UnleashedError:
    # https://apidocs.unleashedsoftware.com/ [I]: 404 for an unknown Guid.
    return UnleashedError(404, f"{resource} with Guid '{guid}' was not found.")


def invalid(field: str, message: str) -> UnleashedError:
    return UnleashedError(400, message, field=field)

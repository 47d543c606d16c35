"""Field coercion shared by the create/update handlers: collect every problem, then refuse once.

The 400 body lists one ``{"Field", "Message"}`` item per problem (invented shape,
https://apidocs.unleashedsoftware.com/ [?]).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .errors import UnleashedError
from .wire import parse_decimal


class Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append({"Field": field, "Message": message})

    def raise_if_any(self, summary: str) -> None:
        if self.items:
            description = self.items[0]["Message"] if len(self.items) == 1 else f"{summary}: {len(self.items)} problems."
            raise UnleashedError(400, description, items=self.items)

    def text(self, body: dict[str, Any], field: str, *, max_len: int | None = None, required: bool = False) -> str | None:
        value = body.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(field, f"{field} is required.")
            return None
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.add(field, f"{field} must be a string.")
            return None
        text = str(value)
        if max_len is not None and len(text) > max_len:
            self.add(field, f"{field} must be {max_len} characters or fewer (got {len(text)}).")
        return text

    def decimal(self, body: dict[str, Any], field: str, *, minimum: Decimal | None = None) -> Decimal | None:
        try:
            value = parse_decimal(field, body.get(field))
        except UnleashedError as exc:
            self.add(field, exc.description)
            return None
        if value is not None and minimum is not None and value < minimum:
            self.add(field, f"{field} must be {minimum} or more.")
        return value

    def boolean(self, body: dict[str, Any], field: str) -> bool | None:
        value = body.get(field)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        self.add(field, f"{field} must be true or false.")
        return None


def check_guid_matches(url_guid: str, body: dict[str, Any]) -> None:
    """The body's Guid, when present, must be the one in the URL
    (https://apidocs.unleashedsoftware.com/Taxes: Guid set on add)."""
    body_guid = body.get("Guid")
    if body_guid not in (None, "") and str(body_guid).lower() != url_guid.lower():
        raise UnleashedError(400, f"Guid in the body ({body_guid}) does not match the Guid in the URL ({url_guid}).", field="Guid")

"""A small checker of request bodies against schema nodes, shared by the emulators.

A node is the subset of JSON Schema the vendors' documents use: ``type``, ``enum``, ``format``
(``uuid``), ``maxLength``, ``properties``, ``items`` and ``$ref`` (a name in ``schemas``). It
answers what is wrong, each emulator words it the way its service does. Properties not listed are
not checked (a schema that lists them all is the service's to enforce); ``null`` counts as "not
sent".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TYPE_WORDS = {"string": "text", "number": "a number", "integer": "a whole number", "boolean": "true or false",
              "object": "an object", "array": "a list"}


@dataclass(frozen=True)
class Problem:
    """``kind``: ``type`` (``expected`` is the schema type), ``enum`` (``expected``: the allowed
    values), ``format`` (``expected``: the format), ``length`` (``expected``: the maximum)."""

    path: str
    kind: str
    value: Any
    expected: Any


def problems(value: Any, node: Mapping[str, Any], schemas: Mapping[str, Any], path: str = "") -> list[Problem]:
    found: list[Problem] = []
    _check(value, node, schemas, path, found)
    return found


def _check(value: Any, node: Mapping[str, Any], schemas: Mapping[str, Any], path: str, found: list[Problem]) -> None:
    if value is None:
        return
    while "$ref" in node:
        node = schemas[node["$ref"]]
    kind = node.get("type")
    if kind and not is_type(value, kind):
        found.append(Problem(path, "type", value, kind))
        return
    if "enum" in node and value not in node["enum"]:
        found.append(Problem(path, "enum", value, tuple(node["enum"])))
    if isinstance(value, str):
        if node.get("format") == "uuid" and not _UUID.match(value):
            found.append(Problem(path, "format", value, "uuid"))
        limit = node.get("maxLength")
        if isinstance(limit, int) and len(value) > limit:
            found.append(Problem(path, "length", value, limit))
    if isinstance(value, dict):
        for name, sub in (node.get("properties") or {}).items():
            if name in value:
                _check(value[name], sub, schemas, f"{path}.{name}" if path else name, found)
    if isinstance(value, list) and "items" in node:
        for index, item in enumerate(value):
            _check(item, node["items"], schemas, f"{path}[{index}]", found)


def is_type(value: Any, kind: str) -> bool:
    """JSON types; the emulators parse JSON numbers as ``Decimal``."""
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or \
            (isinstance(value, Decimal) and value == value.to_integral_value())
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return True


def describe(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float, Decimal)):
        return f"the number {value}"
    return "a list" if isinstance(value, list) else "an object"

"""Request bodies checked against Xero's own OpenAPI document, the way Xero refuses them.

``xero_write_schema.json`` (package data) is a compact copy of the schemas of
``xero_accounting.yaml`` that the write endpoints take (``Invoices``, ``Contacts`` and everything
they reach through ``$ref``), kept to what validation needs: ``type``, ``format``, ``enum``,
``items``, ``properties``, ``$ref``, ``maxLength``. It is derived, not written by hand::

    python -m tillbridge_accounting.emulator.xero_schema tests/fixtures/api-specs/xero_accounting.yaml

(``tests/emulators/test_xero_emulator_strict.py`` checks that the shipped copy equals a fresh
derivation), so the emulator needs neither the 900 kB YAML nor a YAML parser at run time.

What is refused, per element of the envelope, as ``400 ValidationException`` with the element
echoed back and its ``ValidationErrors`` (the shape Xero documents at
https://developer.xero.com/documentation/api/http-response-codes, "Validation errors"):

- a value of the wrong JSON type (a string where the schema says ``number``: Xero's SDKs send
  amounts as JSON numbers, and the schema types them ``number``/``double``);
- a value outside its ``enum`` (``Type``, ``Status``, ``LineAmountTypes``, ``CurrencyCode``,
  ``AddressType``, ``PhoneType``...);
- a string longer than its ``maxLength``; an id that is not a UUID where the schema says
  ``format: uuid``;
- (the fields Xero's documentation marks required, which the schema does not list, are checked by
  the writers in Xero's own words: ``Type``, ``Contact`` and at least one line item for an invoice,
  https://developer.xero.com/documentation/api/accounting/invoices; ``Name`` for a new contact,
  https://developer.xero.com/documentation/api/accounting/contacts).

``null`` is taken as "not sent" for every field: Xero's deserializer treats an explicit null like
an absent property (a choice: the documentation does not say otherwise).
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from importlib.resources import files
from typing import Any

from .body_check import TYPE_WORDS, Problem, describe, problems

#: The schemas the write endpoints take (request bodies of PUT/POST Invoices and Contacts).
ROOTS = ("Invoices", "Contacts")
KEPT = ("type", "format", "enum", "items", "properties", "$ref", "maxLength")
SCHEMA_FILE = "xero_write_schema.json"


# --- derivation (development time: needs PyYAML) ----------------------------------------------------
def derive(spec: dict[str, Any]) -> dict[str, Any]:
    """The compact schemas reachable from :data:`ROOTS` in the parsed ``xero_accounting.yaml``."""
    schemas = spec["components"]["schemas"]
    wanted: list[str] = []

    def visit(name: str) -> None:
        if name in wanted:
            return
        wanted.append(name)
        _refs(schemas[name], visit)

    for root in ROOTS:
        visit(root)
    return {name: _compact(schemas[name]) for name in sorted(wanted)}


def _refs(node: Any, visit: Any) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            visit(node["$ref"].rsplit("/", 1)[-1])
        for value in node.values():
            _refs(value, visit)
    elif isinstance(node, list):
        for value in node:
            _refs(value, visit)


def _compact(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in KEPT:
        if key not in node:
            continue
        value = node[key]
        if key == "properties":
            value = {name: _compact(sub) for name, sub in value.items()}
        elif key == "items":
            value = _compact(value)
        elif key == "$ref":
            value = value.rsplit("/", 1)[-1]
        elif key == "enum":
            value = [str(v) if not isinstance(v, (str, int, float, bool)) else v for v in value]
        out[key] = value
    return out


# --- validation (run time: standard library only) ----------------------------------------------------
@lru_cache(maxsize=1)
def schemas() -> dict[str, Any]:
    text = files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def element_errors(element: Any, schema: str) -> list[str]:
    """Why ``element`` (one Invoice or Contact of an envelope) is not what the schema allows."""
    if not isinstance(element, dict):
        return []  # the writers answer "must be an object" in their own words
    return [_message(p) for p in problems(element, {"$ref": schema}, schemas())]


def _message(problem: Problem) -> str:
    label = problem.path or "the element"
    if problem.kind == "type":
        return f"{label} must be {TYPE_WORDS.get(problem.expected, problem.expected)}, not {describe(problem.value)}."
    if problem.kind == "enum":
        allowed = ", ".join(str(v) for v in problem.expected[:12]) + (", ..." if len(problem.expected) > 12 else "")
        return f"{label} '{problem.value}' is not one of the allowed values ({allowed})."
    if problem.kind == "format":
        return f"{label} '{problem.value}' is not a valid identifier (a GUID)."
    return f"{label} must not be more than {problem.expected} characters long."


def main(argv: list[str]) -> int:
    """``python -m tillbridge_accounting.emulator.xero_schema SPEC.yaml``: rewrite the shipped copy."""
    import yaml  # development only

    if len(argv) != 1:
        print("usage: python -m tillbridge_accounting.emulator.xero_schema path/to/xero_accounting.yaml")
        return 2
    with open(argv[0], encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    target = files(__package__).joinpath(SCHEMA_FILE)
    with open(str(target), "w", encoding="utf-8") as out:
        out.write(render(derive(spec)))
    print(f"wrote {target}")
    return 0


def render(compact: dict[str, Any]) -> str:
    return json.dumps(compact, indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

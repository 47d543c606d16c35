"""QuickBooks Online's query language (``GET /v3/company/{realmId}/query?query=...``).

Supported: ``SELECT * | COUNT(*) | Field, ... FROM Entity`` with ``WHERE`` conditions joined by
``AND`` (QuickBooks has no ``OR``), operators ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``IN (...)``
and ``LIKE '%x%'``; ``ORDERBY``/``ORDER BY Field [ASC|DESC]``; ``STARTPOSITION n`` (1-based) and
``MAXRESULTS n`` (default 100, at most 1000). Strings are single-quoted with ``\\'`` escapes.
Reference fields (``CustomerRef``) compare on their ``value``. Name-list entities (those with
``Active``) return only active rows unless the query mentions ``Active`` — as QuickBooks does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .qbo_faults import query_error
from .qbo_state import ENTITIES

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|[=<>(),*])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
DEFAULT_MAX = 100
LIMIT_MAX = 1000


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool
    fields: tuple[str, ...] | None
    conditions: tuple[Condition, ...]
    order: tuple[str, bool] | None
    start: int
    max_results: int


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise query_error(f"Encountered \"{text[pos:pos + 10]}\" at column {pos + 1}.")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _literal(kind: str, text: str) -> Any:
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "number":
        return Decimal(text)
    if kind == "word" and text.lower() in {"true", "false"}:
        return text.lower() == "true"
    raise query_error(f"Encountered \"{text}\" where a value was expected.")


def parse_query(text: str) -> Query:
    toks = _tokens(text)
    pos = 0

    def peek(offset: int = 0) -> tuple[str, str] | None:
        return toks[pos + offset] if pos + offset < len(toks) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(toks):
            raise query_error("Encountered \"<EOF>\" too early.")
        pos += 1
        return toks[pos - 1]

    def word(*expected: str) -> bool:
        tok = peek()
        return tok is not None and tok[0] == "word" and tok[1].upper() in expected

    if not word("SELECT"):
        raise query_error("a query starts with SELECT.")
    take()
    count = False
    fields: tuple[str, ...] | None = None
    if peek() == ("op", "*"):
        take()
    elif word("COUNT"):
        take()
        if [take()[1] for _ in range(3)] != ["(", "*", ")"]:
            raise query_error("expected COUNT(*).")
        count = True
    else:
        names = [take()[1]]
        while peek() == ("op", ","):
            take()
            names.append(take()[1])
        fields = tuple(names)
    if not word("FROM"):
        raise query_error("expected FROM.")
    take()
    entity_tok = take()
    entity = next((e for e in ENTITIES if e.lower() == entity_tok[1].lower()), None)
    if entity is None:
        raise query_error(f"unknown entity {entity_tok[1]}.")

    conditions: list[Condition] = []
    if word("WHERE"):
        take()
        while True:
            field_tok = take()
            if field_tok[0] != "word":
                raise query_error(f"Encountered \"{field_tok[1]}\" where a field name was expected.")
            if word("IN"):
                take()
                if take() != ("op", "("):
                    raise query_error("expected ( after IN.")
                values = [_literal(*take())]
                while peek() == ("op", ","):
                    take()
                    values.append(_literal(*take()))
                if take() != ("op", ")"):
                    raise query_error("expected ) to close IN.")
                conditions.append(Condition(field_tok[1], "IN", tuple(values)))
            elif word("LIKE"):
                take()
                conditions.append(Condition(field_tok[1], "LIKE", (_literal(*take()),)))
            else:
                op = take()
                if op[0] != "op" or op[1] not in {"=", "!=", "<>", "<", "<=", ">", ">="}:
                    raise query_error(f"Encountered \"{op[1]}\" where an operator was expected.")
                conditions.append(Condition(field_tok[1], "!=" if op[1] == "<>" else op[1], (_literal(*take()),)))
            if word("AND"):
                take()
                continue
            if word("OR"):
                raise query_error("OR is not supported in QuickBooks queries.")
            break

    order: tuple[str, bool] | None = None
    if word("ORDERBY") or (word("ORDER") and (after := peek(1)) is not None and after[1].upper() == "BY"):
        if take()[1].upper() == "ORDER":
            take()
        field_name = take()[1]
        descending = False
        if word("ASC", "DESC"):
            descending = take()[1].upper() == "DESC"
        order = (field_name, descending)
    start, max_results = 1, DEFAULT_MAX
    while word("STARTPOSITION", "MAXRESULTS"):
        key = take()[1].upper()
        kind, value = take()
        if kind != "number" or "." in value or int(value) < 1:
            raise query_error(f"{key} takes a positive whole number.")
        if key == "STARTPOSITION":
            start = int(value)
        else:
            max_results = min(int(value), LIMIT_MAX)
    if (rest := peek()) is not None:
        raise query_error(f"Encountered \"{rest[1]}\" after the end of the query.")
    return Query(entity, count, fields, tuple(conditions), order, start, max_results)


def _field(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        match = next((k for k in value if k.lower() == part.lower()), None)
        value = value.get(match) if match is not None else None
    if isinstance(value, dict) and "value" in value:
        return value["value"]  # CustomerRef = '58'
    return value


def _coerce(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, bool) or isinstance(right, bool):
        return left, right
    if isinstance(left, (int, float, Decimal)) or isinstance(right, Decimal):
        try:
            return Decimal(str(left)), Decimal(str(right))
        except InvalidOperation:
            return str(left), str(right)
    if isinstance(left, str) and isinstance(right, str):
        try:
            return datetime.fromisoformat(left), datetime.fromisoformat(right)
        except ValueError:
            return left.casefold(), right.casefold()
    return left, right


def _matches(record: dict[str, Any], cond: Condition) -> bool:
    value = _field(record, cond.field)
    if value is None:
        return False
    if cond.op == "IN":
        return any(_coerce(value, v)[0] == _coerce(value, v)[1] for v in cond.values)
    if cond.op == "LIKE":
        pattern = "^" + re.escape(str(cond.values[0]).casefold()).replace("%", ".*") + "$"
        return re.match(pattern, str(value).casefold()) is not None
    left, right = _coerce(value, cond.values[0])
    try:
        return {
            "=": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right,
        }[cond.op]
    except TypeError:
        return False


def run_query(query: Query, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Matching rows for the requested page, and the total count."""
    mentions_active = any(c.field.lower() == "active" for c in query.conditions)
    selected = [r for r in rows if all(_matches(r, c) for c in query.conditions)
                and (mentions_active or r.get("Active", True) is not False)]
    if query.order:
        name, descending = query.order

        def key(row: dict[str, Any]) -> tuple[int, Any]:
            value = _field(row, name)
            if value is None:
                return (0, "")
            if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                return (1, Decimal(str(value)))
            text = str(value)
            return (2, int(text)) if name.lower() == "id" and text.isdigit() else (3, text.casefold())

        selected.sort(key=key, reverse=descending)
    total = len(selected)
    page = selected[query.start - 1: query.start - 1 + query.max_results]
    if query.fields:
        wanted = {f.lower() for f in query.fields} | {"id"}
        page = [{k: v for k, v in row.items() if k.lower() in wanted} for row in page]
    return page, total

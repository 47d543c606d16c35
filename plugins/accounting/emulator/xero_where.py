"""The ``where`` filter of Xero GET endpoints, compiled to a Python predicate.

Xero documents a C#-flavoured expression language (spec examples: ``Status=="AUTHORISED"``,
``Status=="ACTIVE" AND Type=="BANK"``, ``HasAttachments==true``). Supported here: ``==``,
``!=``, ``<``, ``<=``, ``>``, ``>=``; ``AND``/``OR``/``NOT`` (and ``&&``/``||``/``!``);
parentheses; dotted paths (``Contact.ContactNumber``); string, number, ``true``/``false``/
``null``, ``DateTime(y,m,d[,h,m,s])`` and ``Guid("...")`` literals; and the string methods
``Contains``, ``StartsWith``, ``EndsWith``, ``ToLower``, ``ToUpper``. String comparison is exact
(case-sensitive) unless ``ToLower()``/``ToUpper()`` is used, which is how Xero's docs tell
clients to ask for case-insensitive matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Mapping

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]
_Eval = Callable[[Record], Any]


class WhereError(ValueError):
    """The filter could not be parsed (Xero answers 400)."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|>=|<=|&&|\|\||[<>()!,.])
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str


def _tokenise(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    text = text.replace("&quot;", '"')
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise WhereError(f"unexpected character at position {pos}: {text[pos:pos + 10]!r}")
        kind = match.lastgroup or ""
        tokens.append(_Tok(kind, match.group(kind)))
        pos = match.end()
    return tokens


def _lookup(record: Any, name: str) -> Any:
    if not isinstance(record, Mapping):
        return None
    if name in record:
        return record[name]
    lowered = name.lower()
    for key, value in record.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _normalise(left: Any, right: Any) -> tuple[Any, Any]:
    def num(v: Any) -> Any:
        if isinstance(v, bool):
            return v
        if isinstance(v, (int, float)):
            return Decimal(str(v))
        return v

    left, right = num(left), num(right)
    if isinstance(left, Decimal) and isinstance(right, str):
        try:
            right = Decimal(right)
        except InvalidOperation:
            pass
    if isinstance(right, Decimal) and isinstance(left, str):
        try:
            left = Decimal(left)
        except InvalidOperation:
            pass

    def moment(v: Any) -> Any:
        if isinstance(v, datetime):
            return v if v.tzinfo else v.replace(tzinfo=timezone.utc)
        if isinstance(v, date):
            return datetime(v.year, v.month, v.day, tzinfo=timezone.utc)
        return v

    if isinstance(left, (date, datetime)) or isinstance(right, (date, datetime)):
        left, right = moment(left), moment(right)
    return left, right


def _compare(op: str, left: Any, right: Any) -> bool:
    left, right = _normalise(left, right)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if op == "<":
            return bool(left < right)
        if op == "<=":
            return bool(left <= right)
        if op == ">":
            return bool(left > right)
        return bool(left >= right)
    except TypeError:
        return False


_METHODS = {"contains", "startswith", "endswith", "tolower", "toupper"}


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise WhereError("unexpected end of expression")
        self.pos += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            raise WhereError(f"expected {text!r}, found {tok.text!r}")

    def is_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.text.upper() in words and tok.kind in {"ident", "op"}

    def parse(self) -> _Eval:
        node = self.or_expr()
        if (tok := self.peek()) is not None:
            raise WhereError(f"unexpected {tok.text!r}")
        return node

    def or_expr(self) -> _Eval:
        left = self.and_expr()
        while self.is_word("OR", "||"):
            self.take()
            right = self.and_expr()
            left = (lambda a, b: lambda r: bool(a(r)) or bool(b(r)))(left, right)
        return left

    def and_expr(self) -> _Eval:
        left = self.unary()
        while self.is_word("AND", "&&"):
            self.take()
            right = self.unary()
            left = (lambda a, b: lambda r: bool(a(r)) and bool(b(r)))(left, right)
        return left

    def unary(self) -> _Eval:
        if self.is_word("NOT", "!"):
            self.take()
            inner = self.unary()
            return lambda r: not bool(inner(r))
        return self.comparison()

    def comparison(self) -> _Eval:
        tok = self.peek()
        if tok is not None and tok.text == "(":
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        left = self.operand()
        tok = self.peek()
        if tok is not None and tok.text in {"==", "!=", "<", "<=", ">", ">="}:
            op = self.take().text
            right = self.operand()
            return lambda r: _compare(op, left(r), right(r))
        return left

    def operand(self) -> _Eval:
        tok = self.take()
        if tok.kind == "string":
            value = re.sub(r"\\(.)", r"\1", tok.text[1:-1])
            return lambda r: value
        if tok.kind == "number":
            number = Decimal(tok.text)
            return lambda r: number
        if tok.kind != "ident":
            raise WhereError(f"unexpected {tok.text!r}")
        word = tok.text
        if word.lower() in {"true", "false"}:
            flag = word.lower() == "true"
            return lambda r: flag
        if word.lower() == "null":
            return lambda r: None
        nxt = self.peek()
        if word in {"DateTime", "DateTimeOffset"} and nxt is not None and nxt.text == "(":
            return self.datetime_literal()
        if word == "Guid" and nxt is not None and nxt.text == "(":
            self.take()
            inner = self.take()
            if inner.kind != "string":
                raise WhereError("Guid() needs a quoted value")
            self.expect(")")
            guid = inner.text[1:-1].lower()
            return lambda r: guid
        return self.path(word)

    def datetime_literal(self) -> _Eval:
        self.expect("(")
        parts: list[int] = []
        while True:
            tok = self.take()
            if tok.kind != "number":
                raise WhereError("DateTime() takes numbers")
            parts.append(int(tok.text))
            sep = self.take()
            if sep.text == ")":
                break
            if sep.text != ",":
                raise WhereError("expected ',' or ')' in DateTime()")
        if len(parts) < 3:
            raise WhereError("DateTime() needs year, month and day")
        try:
            year, month, day, hour, minute, second = (parts + [0, 0, 0])[:6]
            moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
        except (TypeError, ValueError) as exc:
            raise WhereError(f"invalid DateTime: {exc}") from exc
        return lambda r: moment

    def path(self, first: str) -> _Eval:
        steps: list[tuple[str, str, _Eval | None]] = [("field", first, None)]
        while (tok := self.peek()) is not None and tok.text == ".":
            self.take()
            name = self.take()
            if name.kind != "ident":
                raise WhereError(f"expected a name after '.', found {name.text!r}")
            if (tok := self.peek()) is not None and tok.text == "(":
                if name.text.lower() not in _METHODS:
                    raise WhereError(f"unsupported method {name.text}()")
                self.take()
                arg: _Eval | None = None
                if (tok := self.peek()) is not None and tok.text != ")":
                    arg = self.operand()
                self.expect(")")
                steps.append(("method", name.text.lower(), arg))
            else:
                steps.append(("field", name.text, None))

        def evaluate(record: Record) -> Any:
            value: Any = record
            for kind, name, arg in steps:
                if kind == "field":
                    value = _lookup(value, name)
                    continue
                text = "" if value is None else str(value)
                argument = "" if arg is None else str(arg(record))
                if name == "contains":
                    value = argument in text
                elif name == "startswith":
                    value = text.startswith(argument)
                elif name == "endswith":
                    value = text.endswith(argument)
                elif name == "tolower":
                    value = text.lower()
                else:
                    value = text.upper()
            return value

        return evaluate


def compile_where(text: str) -> Predicate:
    """A predicate for ``text``; raises ``WhereError`` when it does not parse."""
    tokens = _tokenise(text)
    if not tokens:
        return lambda record: True
    node = _Parser(tokens).parse()
    return lambda record: bool(node(record))

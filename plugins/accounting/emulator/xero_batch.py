"""Batch writes the Xero way: every element validated on its own, ``summarizeErrors`` decides
whether one bad element sinks the request.

- Default (``summarizeErrors`` absent or true): any invalid element → ``400 ValidationException``
  listing the invalid elements, and nothing in the request is saved. Xero's docs describe the
  400 shape, not whether valid siblings are kept; all-or-nothing is the reading a client must
  survive either way.
- ``summarizeErrors=false``: ``200``, every element in request order, each with
  ``StatusAttributeString`` ``OK``/``ERROR`` and its ``ValidationErrors``; valid ones are saved
  (https://developer.xero.com/documentation/api/accounting/responsecodes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, MutableMapping

from .xero_errors import XeroApiError, messages, validation_body

_MISSING = object()
NIL_ID = "00000000-0000-0000-0000-000000000000"


class ElementInvalid(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class Journal:
    """Undo log for dict writes, so a failed element or batch leaves no trace."""

    def __init__(self) -> None:
        self._undo: list[tuple[MutableMapping[str, Any] | object, str, Any, bool]] = []

    def put(self, mapping: MutableMapping[str, Any], key: str, value: Any) -> None:
        self._undo.append((mapping, key, mapping.get(key, _MISSING), False))
        mapping[key] = value

    def set_attr(self, obj: object, name: str, value: Any) -> None:
        self._undo.append((obj, name, getattr(obj, name), True))
        setattr(obj, name, value)

    def mark(self) -> int:
        return len(self._undo)

    def rollback(self, mark: int = 0) -> None:
        while len(self._undo) > mark:
            target, key, old, is_attr = self._undo.pop()
            if is_attr:
                setattr(target, key, old)
                continue
            assert isinstance(target, MutableMapping)  # not an attribute: an entry of a mapping
            if old is _MISSING:
                target.pop(key, None)
            else:
                target[key] = old


@dataclass
class _Outcome:
    element: Any
    record_id: str | None
    errors: list[str]


def run_batch(
    elements: list[Any],
    process: Callable[[Any, Journal], str],
    *,
    summarize: bool,
    render: Callable[[str], dict[str, Any]],
    echo_error: Callable[[Any, list[str]], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Process ``elements``; return the rendered list for the 200 envelope or raise the 400."""
    journal = Journal()
    outcomes: list[_Outcome] = []
    for element in elements:
        mark = journal.mark()
        try:
            outcomes.append(_Outcome(element, process(element, journal), []))
        except ElementInvalid as invalid:
            journal.rollback(mark)
            outcomes.append(_Outcome(element, None, invalid.errors))
    failed = [o for o in outcomes if o.errors]
    if failed and summarize:
        journal.rollback()
        raise XeroApiError(400, validation_body([echo_error(o.element, o.errors) for o in failed]))
    rendered: list[dict[str, Any]] = []
    for outcome in outcomes:
        if outcome.errors:
            item = echo_error(outcome.element, outcome.errors)
            item["StatusAttributeString"] = "ERROR"
        else:
            assert outcome.record_id is not None
            item = render(outcome.record_id)
            if not summarize:
                item["StatusAttributeString"] = "OK"
                item.setdefault("ValidationErrors", [])
        rendered.append(item)
    return rendered


def echo(element: Any, errors: list[str], id_field: str, flag_field: str) -> dict[str, Any]:
    """The offending element as sent, with its errors (spec ``Element``)."""
    from ._http import to_plain

    base = to_plain(element) if isinstance(element, dict) else {"Value": to_plain(element)}
    base.setdefault(id_field, NIL_ID)
    base[flag_field] = True
    base["ValidationErrors"] = messages(errors)
    return base


def elements_of(body: Any, collection: str) -> list[Any]:
    """``{"Invoices": [...]}``, a bare list, or a single object → list of elements."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key.lower() == collection.lower():
                if isinstance(value, list):
                    return value
                raise XeroApiError(400, {"ErrorNumber": 14, "Type": "PostDataInvalidException",
                                         "Message": f"{collection} must be an array"})
        return [body]
    if isinstance(body, list):
        return body
    raise XeroApiError(400, {"ErrorNumber": 14, "Type": "PostDataInvalidException",
                             "Message": "No data has been provided or the data is not valid JSON"})

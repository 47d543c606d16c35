"""Xero's error bodies.

- Validation: ``400`` with the spec's ``Error`` schema: ``ErrorNumber`` 10, ``Type``
  ``ValidationException``, ``Message`` "A validation exception occurred", ``Elements[]`` each
  echoing the object with ``ValidationErrors[{Message}]``
  (https://developer.xero.com/documentation/api/accounting/responsecodes).
- Authentication (401) and tenant/permission (403) failures use a problem-details body,
  ``{"Type": null, "Title": "Unauthorized", "Status": 401, "Detail": "AuthenticationUnsuccessful"}``.
  The spec does not describe these bodies; the shape is the one Xero sends and that client code
  in public repositories parses (``Detail``: ``AuthenticationUnsuccessful``, ``TokenExpired: ...``).
- ``QueryParseException`` (ErrorNumber 16) and ``PostDataInvalidException`` (ErrorNumber 14) are
  Xero's names for an unparsable ``where`` and an unreadable body **[uncertain: numbers as
  remembered from Xero's error-code list, not re-checked]**.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response

from ._http import json_response


class XeroApiError(Exception):
    """Raised inside a handler to answer with ``status`` and ``body``."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> Response:
        return json_response(self.body, self.status, self.headers)


def problem_body(status: int, title: str, detail: str) -> dict[str, Any]:
    return {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> XeroApiError:
    return XeroApiError(status, problem_body(status, title, detail), headers)


def not_found(detail: str = "The resource you're looking for cannot be found") -> XeroApiError:
    return problem(404, "Not Found", detail)


def validation_body(elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": elements,
    }


def query_parse_error(message: str) -> XeroApiError:
    return XeroApiError(400, {"ErrorNumber": 16, "Type": "QueryParseException", "Message": message})


def post_data_invalid(message: str) -> XeroApiError:
    return XeroApiError(400, {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message})


def messages(errors: list[str]) -> list[dict[str, str]]:
    return [{"Message": text} for text in errors]

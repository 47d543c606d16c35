"""QuickBooks Online's error body and the faults the emulator raises.

Shape (https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/handling-common-errors; Intuit
"Handling common errors" page):
``{"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type": "ValidationFault"}, "time"}``
with ``type`` one of ``ValidationFault``, ``SystemFault``, ``AuthenticationFault``,
``AuthorizationFault``. Codes used: 610 Object Not Found (also for references to *inactive*
objects, per the handling-common-errors page), 2020 required parameter missing, 2050 string
length, 2500 invalid reference id, 4000 query parse error, 5010 stale object (SyncToken),
6000 business validation, 6070 amount calculation, 6090 discount line, 6140 duplicate document
number, 6240 duplicate name, 3200/3100 authentication/authorisation, 3001 throttling. Numbers and
titles are from Intuit's error-code list; the Detail texts are the emulator's wording.
"""

from __future__ import annotations

from typing import Any


class QboFault(Exception):
    """Raised in a handler; ``business`` faults may be delivered inside an HTTP 200."""

    def __init__(
        self, code: str, message: str, detail: str, *, element: str = "", fault_type: str = "ValidationFault",
        status: int = 400, business: bool = False, headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.fault_type = fault_type
        self.status = status
        self.business = business
        self.headers = headers or {}

    def body(self, time: str) -> dict[str, Any]:
        return {
            "Fault": {
                "Error": [{"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}],
                "type": self.fault_type,
            },
            "time": time,
        }


def required(field: str) -> QboFault:
    return QboFault("2020", "Required param missing, need to supply the required value for the API",
                    f"Required parameter {field} is missing in the request", element=field, business=True)


def invalid_reference(kind: str, value: Any, element: str) -> QboFault:
    return QboFault("2500", "Invalid Reference Id", f"Invalid Reference Id : {kind} {value} does not exist",
                    element=element, business=True)


def inactive_reference(kind: str, value: Any, element: str) -> QboFault:
    return QboFault("610", "Object Not Found",
                    f"Object Not Found : Something you're trying to use has been made inactive. "
                    f"{kind} {value} is inactive.", element=element, business=True)


def object_not_found(entity: str, entity_id: Any) -> QboFault:
    return QboFault("610", "Object Not Found", f"Object Not Found : {entity} {entity_id} does not exist.")


def business(detail: str, element: str = "") -> QboFault:
    return QboFault("6000", "A business validation error has occurred while processing your request",
                    f"Business Validation Error: {detail}", element=element, business=True)


def stale(entity: str) -> QboFault:
    return QboFault("5010", "Stale Object Error",
                    f"Stale Object Error : You and another user were working on this {entity} at the same time. "
                    "The other user finished before you did, so your work was not saved.",
                    element="SyncToken", business=True)


def string_length(field: str, maximum: int, length: int) -> QboFault:
    return QboFault("2050", "String length specified does not match the supported length",
                    f"String length is either shorter or longer than supported by specification. "
                    f"Min:0 Max:{maximum} supported. Supplied length:{length}", element=field, business=True)


def query_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}")


def authentication(detail: str) -> QboFault:
    return QboFault("3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401", detail,
                    fault_type="AuthenticationFault", status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'})


def authorization(detail: str) -> QboFault:
    return QboFault("3100", "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403", detail,
                    fault_type="AuthorizationFault", status=403)


def throttled(headers: dict[str, str]) -> QboFault:
    # 429 + ThrottleExceeded fault; client code in public repositories matches on code 3001 and the
    # message text below. The ``type`` value varies between sources; "SERVICE" is the one seen most.
    return QboFault("3001", "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                    "The request limit was reached.", fault_type="SERVICE", status=429, headers=headers)

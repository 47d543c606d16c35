"""Small wire helpers shared by the Unleashed modules: amounts, list paging, refusal reasons."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tillbridge import RemoteError

CENT = Decimal("0.01")
# https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction: "a special
# discount product is created at setup"
DISCOUNT_CODE = "DISCOUNT"


def money(value: Decimal) -> float:
    """Wire form of an amount: a JSON number. Decimal until here; 2-dp values round-trip exactly."""
    return float(value)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def last_page(body: dict[str, Any], page: int) -> bool:
    """Is ``page`` of an Unleashed list the last? (``Pagination.NumberOfPages``,
    https://apidocs.unleashedsoftware.com/Pagination)"""
    paging = body.get("Pagination") or {}
    return int(paging.get("PageNumber") or page) >= int(paging.get("NumberOfPages") or 1)


def reason(exc: RemoteError) -> str:
    """Unleashed's own words in a refusal (the detail after "HTTP 400: ")."""
    return exc.message.split("HTTP 400: ", 1)[-1].rstrip(")")

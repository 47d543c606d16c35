"""Retailer sizes of the benchmark (issue 7) and the vendors' limits the floors are derived from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    products: int
    outlets: int
    sales: int
    customers: int

    quick: bool = False

    @property
    def ks(self) -> tuple[int, ...]:
        """The k of "incremental sync after k changes": 1, 100, 10,000, capped at the catalogue
        (quick: 1 and the whole catalogue)."""
        wanted = (1, self.products) if self.quick else (1, 100, 10_000)
        return tuple(sorted({min(k, self.products) for k in wanted}))


SIZES: dict[str, Size] = {
    "S": Size("S", products=1_000, outlets=3, sales=5_000, customers=100),
    "M": Size("M", products=20_000, outlets=10, sales=100_000, customers=2_000),
    "L": Size("L", products=100_000, outlets=20, sales=500_000, customers=10_000),
}
#: ``--quick``: S shrunk further, for the CI smoke test (the harness works; figures mean little).
QUICK = Size("S-quick", products=120, outlets=2, sales=300, customers=12, quick=True)

# --- page sizes (the widest page each API allows) ---------------------------------------------------
#: Lightspeed API 2.0 documents no maximum page size (shared/api-notes/lightspeed-xseries.md §4);
#: the emulator caps requests at 10,000 (what Vend's own client uses), so that is the minimum's page.
LS_PAGE_MAX = 10_000
#: ... except sales: 500, as Vend's own client says (lightspeed-xseries.md §4); the emulator caps
#: ``/sales`` pages there.
LS_SALES_PAGE_MAX = 500
#: Unleashed: ``pageSize`` maximum 1000 (shared/api-notes/unleashed.md §2).
UL_PAGE_MAX = 1_000

# --- rate limits ----------------------------------------------------------------------------------
#: Lightspeed: 300 × registers + 50 requests per 5-minute window (lightspeed-xseries.md §5).
LS_WINDOW_SECONDS = 300.0


def ls_limit(registers: int) -> int:
    return 300 * registers + 50


#: Xero: 60 calls a minute per tenant (shared/api-notes/accounting-and-peers.md, rate limits).
XERO_PER_MINUTE = 60


def rate_limits(registers: int) -> dict[str, tuple[int, float]]:
    """Per rate-limited API (emulator name): (calls allowed per window, window in seconds).
    Unleashed has a monthly quota but no per-second limit (unleashed.md §6): it has none here."""
    return {"lightspeed": (ls_limit(registers), LS_WINDOW_SECONDS), "xero": (XERO_PER_MINUTE, 60.0)}

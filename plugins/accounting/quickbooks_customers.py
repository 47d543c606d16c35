"""QuickBooks customers (mixed into :class:`~.quickbooks.QuickBooksConnector`), and the fault
and query-quoting helpers the connector shares with them."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Sequence

from tillbridge import ConnectorContext, RecordRejected, RemoteError

from .outbox import KEY_NAMESPACE
from .provider import ContactRef


class QboFault(RemoteError):
    """A ``Fault`` answer (in a 4xx/5xx, or inside a 200)."""

    def __init__(self, fault: dict[str, Any], status: int) -> None:
        errors = fault.get("Error") or [{}]
        first = errors[0]
        self.code = str(first.get("code", ""))
        self.element = str(first.get("element") or "")
        self.fault_type = str(fault.get("type") or "")
        self.messages = [f"{e.get('Message', '')}: {e.get('Detail', '')}".strip(": ") for e in errors]
        super().__init__(f"QuickBooks answered {self.fault_type} {self.code}: {'; '.join(self.messages)}",
                         status=status)


def qbo_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"



class QboCustomers:
    """Customer look-up (by display name) and creation of the QuickBooks connector."""

    if TYPE_CHECKING:  # provided by the connector this is mixed into
        context: ConnectorContext
        _customers: dict[str, str]

        def _call(self, method: str, path: str, *, what: str, params: dict[str, Any] | None = None,
                  body: Any = None) -> dict[str, Any]: ...
        def query(self, text: str, what: str) -> list[dict[str, Any]]: ...

    def resolve_contacts(self, contacts: Sequence[ContactRef]) -> dict[str, str | RecordRejected]:
        wanted = [c for c in contacts if c.code not in self._customers]
        for start in range(0, len(wanted), 20):
            chunk = wanted[start:start + 20]
            names = ", ".join(qbo_quote(c.name) for c in chunk)
            rows = self.query(f"select * from Customer where DisplayName in ({names}) and Active in (true, false)",
                              "looking up customers")
            by_name = {str(r.get("DisplayName", "")).casefold(): str(r["Id"]) for r in rows}
            for contact in chunk:
                if contact.name.casefold() in by_name:
                    self._customers[contact.code] = by_name[contact.name.casefold()]
        errors: dict[str, RecordRejected] = {}
        for contact in wanted:
            if contact.code in self._customers:
                continue
            # A requestid per customer: a retry after a lost answer returns the same customer.
            request_id = str(uuid.uuid5(KEY_NAMESPACE, f"{self.context.connection}/quickbooks/customer/{contact.code}"))
            try:
                data = self._call("POST", "/customer", params={"requestid": request_id},
                                  body={"DisplayName": contact.name[:500] or contact.code,
                                        "Notes": f"Inventory customer {contact.code}"},
                                  what="creating a customer")
                self._customers[contact.code] = str(data["Customer"]["Id"])
            except QboFault as fault:
                errors[contact.code] = RecordRejected(
                    f"QuickBooks refused the customer {contact.name!r} ({contact.code}): {'; '.join(fault.messages)}",
                    fix="correct the customer in the inventory system or in QuickBooks, then `tillbridge reimport`")
        return {c.code: self._customers.get(c.code) or errors.get(c.code) or RecordRejected(
            f"QuickBooks did not create a customer for {c.code}") for c in contacts}

"""Xero contacts (mixed into :class:`~.xero.XeroConnector`): found by ``ContactNumber`` (the
external system id), archived ones included, and created only when missing
(https://developer.xero.com/documentation/api/accounting/contacts)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Sequence

import httpx

from tillbridge import RecordRejected

from .provider import ContactRef


def xero_quote(text: str) -> str:
    """A string literal of Xero's ``where`` language (C#-style escapes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'



class XeroContacts:
    """Contact look-up and creation of the Xero connector."""

    if TYPE_CHECKING:  # provided by the connector this is mixed into
        _contacts: dict[str, str]

        def _request(self, method: str, path: str, *, what: str, params: dict[str, Any] | None = None,
                     body: Any = None, headers: dict[str, str] | None = None,
                     validation: bool = False) -> httpx.Response: ...

    # --- contacts ---------------------------------------------------------------------------------
    def resolve_contacts(self, contacts: Sequence[ContactRef]) -> dict[str, str | RecordRejected]:
        wanted = [c for c in contacts if c.code not in self._contacts]
        for start in range(0, len(wanted), 20):
            chunk = wanted[start:start + 20]
            where = " OR ".join(f"ContactNumber=={xero_quote(c.code)}" for c in chunk)
            # Archived contacts are found too: an invoice against one is refused and reported,
            # which beats a silent second contact for the same customer.
            body = self._request("GET", "/Contacts", params={"where": where, "includeArchived": "true"},
                                 what="looking up contacts").json()
            for row in body.get("Contacts") or []:
                if row.get("ContactNumber"):
                    self._contacts.setdefault(row["ContactNumber"], row["ContactID"])
        missing = [c for c in wanted if c.code not in self._contacts]
        errors: dict[str, RecordRejected] = {}
        if missing:
            errors = self._create_contacts(missing)
        return {c.code: self._contacts.get(c.code) or errors.get(c.code) or RecordRejected(
            f"Xero did not create a contact for customer {c.code}") for c in contacts}

    def _create_contacts(self, contacts: list[ContactRef]) -> dict[str, RecordRejected]:
        elements = [{"Name": c.name[:255] or c.code, "ContactNumber": c.code[:50]} for c in contacts]
        body = self._request("PUT", "/Contacts", params={"summarizeErrors": "false"}, body={"Contacts": elements},
                             headers={"Idempotency-Key": str(uuid.uuid4())}, what="creating contacts",
                             validation=True).json()
        errors: dict[str, RecordRejected] = {}
        for contact, row in zip(contacts, body.get("Contacts") or body.get("Elements") or []):
            if row.get("ContactID") and row.get("StatusAttributeString", "OK") != "ERROR" \
                    and not row.get("HasValidationErrors"):
                self._contacts[contact.code] = row["ContactID"]
                continue
            messages = [v.get("Message", "") for v in row.get("ValidationErrors") or []]
            if any("already assigned to another contact" in m for m in messages):
                adopted = self._adopt_by_name(contact)
                if adopted:
                    continue
            errors[contact.code] = RecordRejected(
                f"Xero refused the contact {contact.name!r} ({contact.code}): {'; '.join(messages) or 'no reason'}",
                fix="correct the customer in the inventory system or in Xero, then `tillbridge reimport`")
        return errors

    def _adopt_by_name(self, contact: ContactRef) -> bool:
        """A contact of that name exists (made by hand or another app): give it our number when it
        has none; otherwise create ours under a name that says which customer it is."""
        body = self._request("GET", "/Contacts", params={"where": f"Name=={xero_quote(contact.name)}"},
                             what="looking up a contact by name").json()
        found = (body.get("Contacts") or [None])[0]
        if found is not None and not found.get("ContactNumber"):
            self._request("POST", f"/Contacts/{found['ContactID']}", body={"Contacts": [
                {"ContactID": found["ContactID"], "ContactNumber": contact.code[:50]}]},
                headers={"Idempotency-Key": str(uuid.uuid4())}, what="numbering a contact")
            self._contacts[contact.code] = found["ContactID"]
            return True
        renamed = ContactRef(contact.code, f"{contact.name} ({contact.code})")
        if renamed.name == contact.name:
            return False
        return not self._create_contacts([renamed])

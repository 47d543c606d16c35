"""Accounting API routes under ``/api.xro/2.0``: Invoices, Contacts, Accounts, TaxRates.

Operations, parameters and response envelopes follow xero_accounting.yaml (``createInvoices``
PUT, ``updateOrCreateInvoices`` POST, ``updateInvoice`` POST /Invoices/{InvoiceID},
``getInvoices`` with where/order/IDs/InvoiceNumbers/ContactIDs/Statuses/page/pageSize/
createdByMyApp/summaryOnly/searchTerm/If-Modified-Since; the Contacts equivalents, which have
no ContactNumbers list parameter; ``getAccounts`` and ``getTaxRates`` with where/order).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Callable, Mapping

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ._http import json_response
from .xero_batch import ElementInvalid, Journal, echo, elements_of, run_batch
from .xero_contacts import ContactWrite, resolve_upsert_target as contact_target, write_contact
from .xero_dates import ms_timestamp, parse_modified_since
from .xero_errors import not_found, query_parse_error
from .xero_gate import XeroCall, XeroGate
from .xero_invoices import InvoiceWrite, find_invoice, resolve_upsert_target as invoice_target, write_invoice
from .xero_query import RecordT, apply_order, comma_list, page_params, paginate
from .xero_render import render_account, render_contact, render_invoice, render_tax_rate
from .xero_schema import element_errors
from .xero_where import WhereError, compile_where

if TYPE_CHECKING:
    from .xero_emulator import XeroEmulator

BASE = "/api.xro/2.0"
INVOICE_SCOPES = ("accounting.transactions", "accounting.invoices")
CONTACT_SCOPES = ("accounting.contacts",)
SETTINGS_SCOPES = ("accounting.settings",)


class XeroApi:
    def __init__(self, emulator: XeroEmulator) -> None:
        self.emu = emulator

    # --- shared ------------------------------------------------------------------------------
    def envelope(self, call: XeroCall, **payload: Any) -> Response:
        body: dict[str, Any] = {
            # Envelope ids are not seeded: they would shift every seeded entity id per GET.
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": self.emu.settings.app_name,
            "DateTimeUTC": ms_timestamp(call.now),
        }
        body.update(payload)
        return json_response(body)

    def _filter(self, call: XeroCall, records: list[RecordT]) -> list[RecordT]:
        where = call.param("where")
        if where:
            try:
                predicate = compile_where(where)
            except WhereError as error:
                raise query_parse_error(str(error)) from error
            records = [r for r in records if predicate(r)]
        since_text = call.headers.get("if-modified-since")
        if since_text:
            since = parse_modified_since(since_text)
            if since is not None:
                records = [r for r in records if r.get("UpdatedDateUTC") and r["UpdatedDateUTC"] > since]
        return apply_order(records, call.param("order"))

    def _invoice_ctx(self, call: XeroCall) -> InvoiceWrite:
        settings = self.emu.settings
        unitdp = call.param("unitdp")
        return InvoiceWrite(
            call.tenant, call.now, self.emu.new_id, call.client_id, 4 if unitdp == "4" else 2,
            tuple(settings.currencies), settings.require_due_date_when_approved,
        )

    # --- invoices ----------------------------------------------------------------------------------
    def _invoice_view(self, call: XeroCall, invoice: dict[str, Any]) -> dict[str, Any]:
        view = dict(invoice)
        view["Contact"] = call.tenant.contacts.get(invoice["ContactID"], {})
        return view

    def get_invoices(self, call: XeroCall) -> Response:
        tenant = call.tenant
        views = [self._invoice_view(call, inv) for inv in tenant.invoices.values()]
        ids = {i.lower() for i in comma_list(call.param("IDs"))}
        if ids:
            views = [v for v in views if v["InvoiceID"] in ids]
        numbers = {n.casefold() for n in comma_list(call.param("InvoiceNumbers"))}
        if numbers:
            views = [v for v in views if str(v.get("InvoiceNumber", "")).casefold() in numbers]
        contact_ids = {c.lower() for c in comma_list(call.param("ContactIDs"))}
        if contact_ids:
            views = [v for v in views if v["ContactID"] in contact_ids]
        statuses = {s.upper() for s in comma_list(call.param("Statuses"))}
        if statuses:
            views = [v for v in views if v["Status"] in statuses]
        if call.flag("createdByMyApp", False):
            views = [v for v in views if v.get("SourceApp") == call.client_id]
        term = (call.param("searchTerm") or "").strip().casefold()
        if term:
            views = [v for v in views if term in str(v.get("InvoiceNumber") or "").casefold()
                     or term in str(v.get("Reference") or "").casefold()]
        views = self._filter(call, views)
        page, size = page_params(call.param("page"), call.param("pageSize"))
        summary = call.flag("summaryOnly", False)
        extra: dict[str, Any] = {}
        if page is not None:
            views, extra["pagination"] = paginate(views, page, size)
        # Without ``page`` Xero lists invoices without their line items; with it, up to 100 per page
        # "with line items shown for each invoice" (spec, page parameter).
        with_lines = page is not None or self.emu.settings.unpaged_line_items
        rendered = [render_invoice(tenant.invoices[v["InvoiceID"]], tenant, with_lines=with_lines,
                                   summary_only=summary) for v in views]
        return self.envelope(call, **extra, Invoices=rendered)

    def get_invoice(self, call: XeroCall) -> Response:
        invoice = find_invoice(call.tenant, call.path_params["InvoiceID"])
        if invoice is None:
            raise not_found()
        return self.envelope(call, Invoices=[render_invoice(invoice, call.tenant)])

    def _save_invoices(self, call: XeroCall, elements: list[Any], mode: str) -> Response:
        ctx = self._invoice_ctx(call)
        tenant = call.tenant

        def process(element: Any, journal: Journal) -> str:
            _refuse_off_schema(element, "Invoice")
            if mode == "create":
                if isinstance(element, dict) and element.get("InvoiceID") and \
                        str(element["InvoiceID"]).lower() in tenant.invoices:
                    raise ElementInvalid(["This invoice already exists; use POST to update it."])
                data = {k: v for k, v in element.items() if k != "InvoiceID"} if isinstance(element, dict) else element
                return write_invoice(ctx, data, None, journal)
            if mode == "upsert":
                return write_invoice(ctx, element, invoice_target(tenant, element), journal)
            target = find_invoice(tenant, call.path_params["InvoiceID"])
            if target is None:
                raise not_found()
            return write_invoice(ctx, element, target, journal)

        rendered = run_batch(
            elements, process, summarize=call.flag("summarizeErrors", True),
            render=lambda invoice_id: render_invoice(tenant.invoices[invoice_id], tenant),
            echo_error=lambda element, errors: echo(element, errors, "InvoiceID", "HasErrors"),
        )
        return self.envelope(call, Invoices=rendered)

    def put_invoices(self, call: XeroCall) -> Response:
        return self._save_invoices(call, elements_of(call.body, "Invoices"), "create")

    def post_invoices(self, call: XeroCall) -> Response:
        return self._save_invoices(call, elements_of(call.body, "Invoices"), "upsert")

    def post_invoice(self, call: XeroCall) -> Response:
        if find_invoice(call.tenant, call.path_params["InvoiceID"]) is None:
            raise not_found()
        return self._save_invoices(call, elements_of(call.body, "Invoices")[:1], "update")

    # --- contacts ---------------------------------------------------------------------------------
    def get_contacts(self, call: XeroCall) -> Response:
        records: list[Mapping[str, Any]] = list(call.tenant.contacts.values())
        ids = {i.lower() for i in comma_list(call.param("IDs"))}
        if ids:
            records = [c for c in records if c["ContactID"] in ids]
        if not call.flag("includeArchived", False):
            records = [c for c in records if c["ContactStatus"] != "ARCHIVED"]
        term = (call.param("searchTerm") or "").strip().casefold()
        if term:
            fields = ("Name", "FirstName", "LastName", "ContactNumber", "CompanyNumber", "EmailAddress")
            records = [c for c in records if any(term in str(c.get(f) or "").casefold() for f in fields)]
        records = self._filter(call, records)
        page, size = page_params(call.param("page"), call.param("pageSize"))
        extra: dict[str, Any] = {}
        if page is not None:
            records, extra["pagination"] = paginate(records, page, size)
        return self.envelope(call, **extra, Contacts=[render_contact(dict(c)) for c in records])

    def get_contact(self, call: XeroCall) -> Response:
        contact = call.tenant.contacts.get(call.path_params["ContactID"].lower())
        if contact is None:
            raise not_found()
        return self.envelope(call, Contacts=[render_contact(contact)])

    def _save_contacts(self, call: XeroCall, elements: list[Any], mode: str) -> Response:
        tenant = call.tenant
        ctx = ContactWrite(tenant, call.now, self.emu.new_id)

        def process(element: Any, journal: Journal) -> str:
            _refuse_off_schema(element, "Contact")
            if mode == "create":
                data = {k: v for k, v in element.items() if k != "ContactID"} if isinstance(element, dict) else element
                return write_contact(ctx, data, None, journal)
            if mode == "upsert":
                return write_contact(ctx, element, contact_target(tenant, element), journal)
            return write_contact(ctx, element, tenant.contacts[call.path_params["ContactID"].lower()], journal)

        rendered = run_batch(
            elements, process, summarize=call.flag("summarizeErrors", True),
            render=lambda contact_id: render_contact(tenant.contacts[contact_id]),
            echo_error=lambda element, errors: echo(element, errors, "ContactID", "HasValidationErrors"),
        )
        return self.envelope(call, Contacts=rendered)

    def put_contacts(self, call: XeroCall) -> Response:
        return self._save_contacts(call, elements_of(call.body, "Contacts"), "create")

    def post_contacts(self, call: XeroCall) -> Response:
        return self._save_contacts(call, elements_of(call.body, "Contacts"), "upsert")

    def post_contact(self, call: XeroCall) -> Response:
        if call.path_params["ContactID"].lower() not in call.tenant.contacts:
            raise not_found()
        return self._save_contacts(call, elements_of(call.body, "Contacts")[:1], "update")

    # --- settings ---------------------------------------------------------------------------------
    def get_accounts(self, call: XeroCall) -> Response:
        records = self._filter(call, list(call.tenant.accounts.values()))
        return self.envelope(call, Accounts=[render_account(dict(a)) for a in records])

    def get_tax_rates(self, call: XeroCall) -> Response:
        records = self._filter(call, list(call.tenant.tax_rates.values()))
        return self.envelope(call, TaxRates=[render_tax_rate(dict(t)) for t in records])


def _refuse_off_schema(element: Any, schema: str) -> None:
    """A value of the wrong type or outside its enum (xero_accounting.yaml): the element is refused."""
    refused = element_errors(element, schema)
    if refused:
        raise ElementInvalid(refused)


def api_routes(emu: XeroEmulator) -> list[BaseRoute]:
    api = XeroApi(emu)
    gate = XeroGate(emu)

    def route(path: str, method: str, handler: Callable[[XeroCall], Response], scopes: tuple[str, ...]) -> Route:
        return Route(f"{BASE}{path}", gate.endpoint(handler, scopes, method != "GET"), methods=[method])

    return [
        route("/Invoices", "GET", api.get_invoices, INVOICE_SCOPES),
        route("/Invoices", "PUT", api.put_invoices, INVOICE_SCOPES),
        route("/Invoices", "POST", api.post_invoices, INVOICE_SCOPES),
        route("/Invoices/{InvoiceID}", "GET", api.get_invoice, INVOICE_SCOPES),
        route("/Invoices/{InvoiceID}", "POST", api.post_invoice, INVOICE_SCOPES),
        route("/Contacts", "GET", api.get_contacts, CONTACT_SCOPES),
        route("/Contacts", "PUT", api.put_contacts, CONTACT_SCOPES),
        route("/Contacts", "POST", api.post_contacts, CONTACT_SCOPES),
        route("/Contacts/{ContactID}", "GET", api.get_contact, CONTACT_SCOPES),
        route("/Contacts/{ContactID}", "POST", api.post_contact, CONTACT_SCOPES),
        route("/Accounts", "GET", api.get_accounts, SETTINGS_SCOPES),
        route("/TaxRates", "GET", api.get_tax_rates, SETTINGS_SCOPES),
    ]


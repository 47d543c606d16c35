"""Write bodies checked against the fields and types Intuit documents, refused the way QBO does.

Intuit publishes no OpenAPI document for the v3 Accounting API; the field tables below follow
its API reference (https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
and .../all-entities/customer; the body rules of shared/api-notes/accounting-and-peers.md,
QuickBooks Online "Create invoice"): ``String``, ``Decimal``, ``Boolean``, ``Date`` (a string),
``ReferenceType`` ``{value, name}``, the enums (``DetailType``, ``GlobalTaxCalculation``,
``PrintStatus``, ``EmailStatus``, ``PreferredDeliveryMethod``) and the documented maximum lengths.

Refused, as a ``Fault`` (https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes):

- a value of the wrong JSON type: HTTP 400, code 2010 "Request has invalid or unsupported
  property" (an amount sent as a string: Intuit's SDKs send Decimals as JSON numbers);
- a value outside its enum: HTTP 400, code 2170 "Invalid Enumeration";
- a string too long: code 2050, as the writers already answer;
- a required field missing (``CustomerRef``, a sales line, a line ``Amount``, a customer name):
  the writers' 2020 / 6000 / 6080 faults.

Fields not listed are not checked here. ``null`` counts as "not sent".
"""

from __future__ import annotations

from typing import Any

from .body_check import problems
from .qbo_faults import QboFault, string_length

_S: dict[str, Any] = {"type": "string"}
_N: dict[str, Any] = {"type": "number"}
_B: dict[str, Any] = {"type": "boolean"}
_DATE = _S  # "Date": YYYY-MM-DD as a string


def _max(length: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": length}


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


_REF = {"$ref": "ReferenceType"}

SCHEMAS: dict[str, Any] = {
    "ReferenceType": _object(value=_S, name=_S),
    "PhysicalAddress": _object(Id=_S, Line1=_max(500), Line2=_max(500), Line3=_max(500), Line4=_max(500),
                               Line5=_max(500), City=_max(255), Country=_max(255),
                               CountrySubDivisionCode=_max(255), PostalCode=_max(30), Lat=_S, Long=_S),
    "EmailAddress": _object(Address=_max(100)),
    "TelephoneNumber": _object(FreeFormNumber=_max(30)),
    "SalesItemLineDetail": _object(ItemRef=_REF, Qty=_N, UnitPrice=_N, TaxCodeRef=_REF, ClassRef=_REF,
                                   ItemAccountRef=_REF, ServiceDate=_DATE, DiscountRate=_N, DiscountAmt=_N,
                                   TaxInclusiveAmt=_N),
    "DiscountLineDetail": _object(PercentBased=_B, DiscountPercent=_N, DiscountAccountRef=_REF, ClassRef=_REF,
                                  TaxCodeRef=_REF),
    "DescriptionLineDetail": _object(ServiceDate=_DATE, TaxCodeRef=_REF),
    "Line": _object(
        Id=_S, LineNum=_N, Description=_max(4000), Amount=_N,
        DetailType={"type": "string", "enum": ["SalesItemLineDetail", "GroupLineDetail", "DescriptionOnly",
                                               "DiscountLineDetail", "SubTotalLineDetail"]},
        SalesItemLineDetail={"$ref": "SalesItemLineDetail"}, DiscountLineDetail={"$ref": "DiscountLineDetail"},
        DescriptionLineDetail={"$ref": "DescriptionLineDetail"}, SubTotalLineDetail={"type": "object"},
    ),
    "CustomField": _object(DefinitionId=_S, Name=_S, StringValue=_max(31),
                           Type={"type": "string", "enum": ["StringType", "BooleanType", "NumberType", "DateType"]}),
    "Invoice": _object(
        Id=_S, SyncToken=_S, sparse=_B, CustomerRef=_REF,
        Line={"type": "array", "items": {"$ref": "Line"}},
        DocNumber=_S, TxnDate=_DATE, DueDate=_DATE, ShipDate=_DATE, PrivateNote=_max(4000),
        CustomerMemo=_object(value=_max(1000)), BillEmail={"$ref": "EmailAddress"},
        BillAddr={"$ref": "PhysicalAddress"}, ShipAddr={"$ref": "PhysicalAddress"},
        GlobalTaxCalculation={"type": "string", "enum": ["TaxExcluded", "TaxInclusive", "NotApplicable"]},
        SalesTermRef=_REF, CurrencyRef=_REF, ClassRef=_REF, DepartmentRef=_REF, ExchangeRate=_N,
        CustomField={"type": "array", "items": {"$ref": "CustomField"}}, TrackingNum=_S,
        ApplyTaxAfterDiscount=_B, AllowOnlineCreditCardPayment=_B, AllowOnlineACHPayment=_B, Deposit=_N,
        PrintStatus={"type": "string", "enum": ["NotSet", "NeedToPrint", "PrintComplete"]},
        EmailStatus={"type": "string", "enum": ["NotSet", "NeedToSend", "EmailSent"]},
        TxnTaxDetail=_object(TxnTaxCodeRef=_REF, TotalTax=_N, TaxLine={"type": "array"}),
    ),
    "Customer": _object(
        Id=_S, SyncToken=_S, sparse=_B, DisplayName=_S, Title=_max(16), GivenName=_max(100),
        MiddleName=_max(100), FamilyName=_max(100), Suffix=_max(16), CompanyName=_max(100),
        PrintOnCheckName=_max(110), Notes=_max(2000), PrimaryEmailAddr={"$ref": "EmailAddress"},
        PrimaryPhone={"$ref": "TelephoneNumber"}, AlternatePhone={"$ref": "TelephoneNumber"},
        Mobile={"$ref": "TelephoneNumber"}, Fax={"$ref": "TelephoneNumber"}, WebAddr=_object(URI=_max(1000)),
        BillAddr={"$ref": "PhysicalAddress"}, ShipAddr={"$ref": "PhysicalAddress"}, Active=_B, Taxable=_B,
        Job=_B, BillWithParent=_B, ParentRef=_REF, DefaultTaxCodeRef=_REF, SalesTermRef=_REF,
        PaymentMethodRef=_REF, CurrencyRef=_REF, ResaleNum=_max(16), Balance=_N, OpenBalanceDate=_DATE,
        PreferredDeliveryMethod={"type": "string", "enum": ["Print", "Email", "None"]},
    ),
}


def refuse_off_schema(body: Any, entity: str) -> None:
    """Raise the fault QuickBooks answers for the first field of ``body`` off the documented types."""
    if not isinstance(body, dict):
        return  # the writers answer "The body must be an ... object"
    for problem in problems(body, {"$ref": entity}, SCHEMAS):
        if problem.kind == "type":
            raise QboFault("2010", "Request has invalid or unsupported property",
                           f"Property Name:{problem.path} specified is unsupported or invalid: "
                           f"{problem.value!r} is not a {problem.expected}", element=problem.path)
        if problem.kind == "enum":
            raise QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {problem.value}",
                           element=problem.path)
        if problem.kind == "length":
            raise string_length(problem.path, problem.expected, len(problem.value))

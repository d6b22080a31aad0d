"""The stand-in org's schema: the objects and fields a CPQ org describes whatever records it holds.

A real org describes its objects from their definitions, not from the records
it happens to have: an org with no renewals yet still has Opportunity, and a
single-currency org still has DatedConversionRate. Numbers carry their
definition's precision and scale, as describe() reports them; a snapshot's
records may add fields of their own (custom fields), described as text.
"""
from __future__ import annotations

from typing import Any

_ID = {"type": "id"}
_TEXT = {"type": "string"}
_DATE = {"type": "date"}
_DATETIME = {"type": "datetime"}
_BOOLEAN = {"type": "boolean"}
_REFERENCE = {"type": "reference"}


def _number(precision: int, scale: int, kind: str = "double") -> dict[str, Any]:
    return {"type": kind, "precision": precision, "scale": scale}


_COMMON = {"Id": _ID, "IsDeleted": _BOOLEAN, "SystemModstamp": _DATETIME}

CPQ_SCHEMA: dict[str, dict[str, dict[str, Any]]] = {
    "Account": {**_COMMON, "Name": _TEXT, "ParentId": _REFERENCE, "CurrencyIsoCode": _TEXT,
                "Business_Unit__c": _TEXT},
    "Contract": {**_COMMON, "AccountId": _REFERENCE, "StartDate": _DATE, "EndDate": _DATE, "Status": _TEXT,
                 "SBQQ__Opportunity__c": _REFERENCE, "SBQQ__RenewalOpportunity__c": _REFERENCE},
    "Opportunity": {**_COMMON, "AccountId": _REFERENCE, "SBQQ__RenewedContract__c": _REFERENCE,
                    "SBQQ__AmendedContract__c": _REFERENCE},
    "Product2": {**_COMMON, "Name": _TEXT, "Family": _TEXT, "SBQQ__SubscriptionTerm__c": _number(5, 0),
                 "SBQQ__ChargeType__c": _TEXT},
    "SBQQ__Subscription__c": {
        **_COMMON, "SBQQ__Account__c": _REFERENCE, "SBQQ__Contract__c": _REFERENCE, "SBQQ__Product__c": _REFERENCE,
        "SBQQ__Quantity__c": _number(18, 12), "SBQQ__NetPrice__c": _number(18, 6, "currency"),
        "SBQQ__ProrateMultiplier__c": _number(18, 16), "SBQQ__StartDate__c": _DATE, "SBQQ__EndDate__c": _DATE,
        "SBQQ__TerminatedDate__c": _DATE, "SBQQ__RevisedSubscription__c": _REFERENCE, "CurrencyIsoCode": _TEXT},
    "DatedConversionRate": {"Id": _ID, "SystemModstamp": _DATETIME, "IsoCode": _TEXT,
                            "ConversionRate": _number(18, 9), "StartDate": _DATE, "NextStartDate": _DATE},
    "CurrencyType": {"Id": _ID, "SystemModstamp": _DATETIME, "IsoCode": _TEXT, "ConversionRate": _number(18, 9),
                     "IsCorporate": _BOOLEAN},
}

"""What is read from Salesforce: objects, fields, keys and replication, declared once.

Field kinds say how a value is checked on arrival; the typing itself happens in
the staging SQL. A value that fails its check stops the batch with an error
naming the object, the record and the field (METHODOLOGY.md: fail loudly).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import chain
from typing import Any, Literal

from revcert.settings import Settings

FieldKind = Literal["id", "text", "number", "date", "datetime", "boolean"]
Replication = Literal["incremental", "full"]

REPLICATION_KEY = "SystemModstamp"


@dataclass(frozen=True)
class SalesforceField:
    name: str
    kind: FieldKind = "text"


@dataclass(frozen=True)
class SalesforceObject:
    """One object: its fields, the staging table it lands in, how it is replicated.

    `replication = "full"` objects (currency tables) have no IsDeleted and are
    small: every batch reads them whole and replaces their staging table.
    """

    api_name: str
    staging_table: str
    fields: tuple[SalesforceField, ...]
    replication: Replication = "incremental"
    control_sum_fields: tuple[str, ...] = ()

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def has_is_deleted(self) -> bool:
        return "IsDeleted" in self.field_names


def _fields(*spec: str | tuple[str, FieldKind]) -> tuple[SalesforceField, ...]:
    return tuple(SalesforceField(s) if isinstance(s, str) else SalesforceField(*s) for s in spec)


def salesforce_objects(settings: Settings | None = None) -> list[SalesforceObject]:
    """The objects of METHODOLOGY.md A1, in the order they are extracted."""
    settings = settings or Settings()
    common = (("IsDeleted", "boolean"), ("SystemModstamp", "datetime"))
    return [
        SalesforceObject("Account", "stg_account", _fields(
            ("Id", "id"), "Name", ("ParentId", "id"), "CurrencyIsoCode", settings.business_unit_field, *common)),
        SalesforceObject("Contract", "stg_contract", _fields(
            ("Id", "id"), ("AccountId", "id"), ("StartDate", "date"), ("EndDate", "date"), "Status",
            ("SBQQ__Opportunity__c", "id"), ("SBQQ__RenewalOpportunity__c", "id"), *common)),
        SalesforceObject("Opportunity", "stg_opportunity", _fields(
            ("Id", "id"), ("AccountId", "id"), ("SBQQ__RenewedContract__c", "id"),
            ("SBQQ__AmendedContract__c", "id"), *common)),
        SalesforceObject("Product2", "stg_product", _fields(
            ("Id", "id"), "Name", "Family", ("SBQQ__SubscriptionTerm__c", "number"), "SBQQ__ChargeType__c", *common)),
        SalesforceObject("SBQQ__Subscription__c", "stg_subscription_line", _fields(
            ("Id", "id"), ("SBQQ__Account__c", "id"), ("SBQQ__Contract__c", "id"), ("SBQQ__Product__c", "id"),
            ("SBQQ__Quantity__c", "number"), ("SBQQ__NetPrice__c", "number"),
            ("SBQQ__ProrateMultiplier__c", "number"), ("SBQQ__StartDate__c", "date"), ("SBQQ__EndDate__c", "date"),
            ("SBQQ__TerminatedDate__c", "date"), ("SBQQ__RevisedSubscription__c", "id"), "CurrencyIsoCode",
            *common), control_sum_fields=("SBQQ__Quantity__c", "SBQQ__NetPrice__c")),
        SalesforceObject("DatedConversionRate", "stg_dated_conversion_rate", _fields(
            ("Id", "id"), "IsoCode", ("ConversionRate", "number"), ("StartDate", "date"),
            ("NextStartDate", "date"), ("SystemModstamp", "datetime")), replication="full"),
        SalesforceObject("CurrencyType", "stg_currency_type", _fields(
            ("Id", "id"), "IsoCode", ("ConversionRate", "number"), ("IsCorporate", "boolean"),
            ("SystemModstamp", "datetime")), replication="full"),
    ]


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
# The two shapes Salesforce sends, the only ones a page may carry to be loaded set-based:
# PostgreSQL then reads each SystemModstamp as the same instant Python does.
_SALESFORCE_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(?:Z|\+0000)")
_BOOLEAN_TEXTS = {"true", "false"}
_BOOLEANS = {(bool, True), (bool, False)}


@dataclass(frozen=True)
class DistinctValues:
    """A page's distinct values of one field: its texts, whether a null is among them, and its values of any
    other type, each with its type (True and 1 are not one value here). Texts apart: a CSV page has nothing
    else, and its nearly all distinct Ids and datetimes are checked without tagging each."""

    texts: AbstractSet[str]
    has_null: bool = False
    others: AbstractSet[tuple[type, Any]] = frozenset()

    @classmethod
    def of(cls, values: list[Any]) -> DistinctValues:
        """The distinct values of a field's values as parsed JSON holds them (None is null).

        Raises:
            TypeError: a value cannot be hashed (a JSON object or list, a signalling NaN).
        """
        return cls({value for value in values if type(value) is str}, None in values,
                   {(type(value), value) for value in values if value is not None and type(value) is not str})


def parse_salesforce_datetime(text: str) -> datetime:
    """Parse the two shapes Salesforce sends: `...000+0000` (REST) and `...000Z` (Bulk)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def number_problem(value: Decimal, precision: int | None, scale: int | None) -> str | None:
    """Why a number does not fit its field's definition (digits before and after the point), or None."""
    if precision is None or scale is None:
        return None
    exponent = value.normalize().as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    integer_digits = value.adjusted() + 1 if value != 0 else 0
    if integer_digits > precision - scale:
        return (f"{value} has more than {precision - scale} digits before the point "
                f"(the field is ({precision}, {scale}))")
    if decimals > scale:
        return f"{value} has more than {scale} decimal places (the field is ({precision}, {scale}))"
    return None


def field_problem(field: SalesforceField, value: Any, definition: dict[str, Any] | None = None) -> str | None:
    """Why `value` is not a valid `field` value, or None when it is (null is always valid).

    `definition` is the field as the org describes it; numbers are checked against its precision and scale.
    """
    if value is None:
        return None
    try:
        if field.kind == "number":
            if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
                return f"{value!r} is not a number"
            number = Decimal(value)  # int is exact too; only float is refused
            if not number.is_finite():
                return f"{value!r} is not a finite number"
            definition = definition or {}
            return number_problem(number, definition.get("precision"), definition.get("scale"))
        elif field.kind == "date":
            if not (isinstance(value, str) and _DATE.match(value)):
                return f"{value!r} is not a date (YYYY-MM-DD)"
            date.fromisoformat(value)
        elif field.kind == "datetime":
            parse_salesforce_datetime(value)
        elif field.kind == "boolean":
            if not (isinstance(value, bool) or value in ("true", "false")):
                return f"{value!r} is not a boolean"
        elif field.kind == "id":
            if not (isinstance(value, str) and _ID.match(value)):
                return f"{value!r} is not a Salesforce Id"
        elif not isinstance(value, str):
            return f"{value!r} is not text"
    except (InvalidOperation, ValueError, TypeError):
        return f"{value!r} is not a valid {field.kind}"
    return None


def record_problems(obj: SalesforceObject, record: dict[str, Any],
                    definitions: dict[str, dict[str, Any]] | None = None) -> Iterable[str]:
    """Every field of `record` that breaks its declared kind or its definition in the org, described for a person."""
    record_id = record.get("Id")
    if not record_id:
        yield f"{obj.api_name} record without an Id: {sorted(k for k in record if k != 'attributes')}"
        return
    for field in obj.fields:
        problem = field_problem(field, record.get(field.name), (definitions or {}).get(field.name))
        if problem:
            yield f"{obj.api_name} {record_id}: {field.name} = {problem}"


def _column_is_clean(field: SalesforceField, distinct: DistinctValues, definition: dict[str, Any] | None) -> bool:
    """No distinct value of a page's column breaks its field (null never does). Ids and datetimes are nearly
    all distinct, so they skip field_problem: text only, the Id pattern alone, a bare parse of each datetime."""
    if field.kind not in ("id", "datetime"):
        return all(field_problem(field, value, definition) is None
                   for value in chain(distinct.texts, (value for _, value in distinct.others)))
    if distinct.others:
        return False
    if field.kind == "id":
        return all(map(_ID.fullmatch, distinct.texts))
    try:
        for text in distinct.texts:
            parse_salesforce_datetime(text)
    except ValueError:
        return False
    return True


def page_is_clean(obj: SalesforceObject, distinct: Callable[[str], DistinctValues],
                  definitions: dict[str, dict[str, Any]] | None = None) -> bool:
    """True when `record_problems` would find nothing in a page, read through its distinct values per field
    (`distinct(name)`: each with its type, null included), and every record's Id, SystemModstamp and IsDeleted
    read alike in PostgreSQL and in Python, so the page can be loaded into raw set-based.

    False means "look record by record", not that a record is wrong.
    """
    try:
        values = {name: distinct(name) for name in {*obj.field_names, "Id", "IsDeleted", REPLICATION_KEY}}
        deleted, modstamps = values["IsDeleted"], values[REPLICATION_KEY]
        if values["Id"].has_null or not (deleted.texts <= _BOOLEAN_TEXTS and deleted.others <= _BOOLEANS):
            return False
        if modstamps.others or not all(map(_SALESFORCE_DATETIME.fullmatch, modstamps.texts)):
            return False
        return all(_column_is_clean(field, values[field.name], (definitions or {}).get(field.name))
                   for field in obj.fields)
    except TypeError:  # a value that cannot be hashed (a JSON object or list, a signalling NaN)
        return False

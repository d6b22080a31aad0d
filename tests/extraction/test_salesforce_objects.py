from decimal import Decimal

import pytest

from revcert.extraction.salesforce_extract import build_soql
from revcert.extraction.salesforce_objects import SalesforceField, field_problem, record_problems, salesforce_objects
from revcert.settings import Settings


def subscription_object():
    return next(o for o in salesforce_objects() if o.api_name == "SBQQ__Subscription__c")


@pytest.mark.parametrize("kind, value", [
    ("number", Decimal("1234567.891234")), ("number", "12.50"), ("number", 12), ("number", None),
    ("date", "2024-02-29"), ("datetime", "2026-01-01T10:00:00.000+0000"), ("datetime", "2026-01-01T10:00:00.000Z"),
    ("boolean", True), ("boolean", "false"), ("id", "001Rc0000000TIuIAM"), ("id", "001Rc0000000TIu"),
])
def test_valid_values(kind, value):
    assert field_problem(SalesforceField("F", kind), value) is None


@pytest.mark.parametrize("kind, value, message", [
    ("number", "12,50", "not a valid number"), ("number", 0.1, "not a number"), ("number", "NaN", "not a finite"),
    ("number", True, "not a number"), ("date", "2025-02-29", "not a valid date"), ("date", "01/02/2026", "not a date"),
    ("datetime", "yesterday", "not a valid datetime"), ("boolean", "yes", "not a boolean"),
    ("id", "001; DROP", "not a Salesforce Id"), ("number", "three", "not a valid number"),
    ("date", "2026-13-01", "not a valid date"), ("date", 20261231, "not a date"),
    ("id", " 800Rc0000000TIuIAM", "not a Salesforce Id"), ("boolean", "no", "not a boolean"),
    ("text", 42, "not text"), ("text", 840, "not text"), ("number", "1,5", "not a valid number"),
])
def test_invalid_values_are_named(kind, value, message):
    """The field kinds of the bad-input corpus (tests/faults), value by value; the corpus runs a few of them
    through the whole DAG."""
    assert message in field_problem(SalesforceField("F", kind), value)


@pytest.mark.parametrize("value, message", [
    (Decimal("1e400"), "more than 16 digits before the point"),
    (Decimal("12345678901234567"), "more than 16 digits before the point"),
    (Decimal("1.123"), "more than 2 decimal places"),
])
def test_a_number_that_does_not_fit_its_field_is_named(value, message):
    """Issue 17 defect 4: a price of 1e400 is a decimal, but not one the field (18, 2) can hold."""
    from revcert.extraction.salesforce_objects import number_problem

    assert message in number_problem(value, 18, 2)
    assert number_problem(Decimal("9999999999999999.99"), 18, 2) is None


def test_record_problems_name_object_record_and_field():
    record = {"Id": "a1BRc0000000TIuMAM", "SBQQ__NetPrice__c": "1.234,5", "SBQQ__StartDate__c": "2026-13-01"}
    problems = list(record_problems(subscription_object(), record))
    assert problems == [
        "SBQQ__Subscription__c a1BRc0000000TIuMAM: SBQQ__NetPrice__c = '1.234,5' is not a valid number",
        "SBQQ__Subscription__c a1BRc0000000TIuMAM: SBQQ__StartDate__c = '2026-13-01' is not a valid date",
    ]


def test_business_unit_field_is_configurable(monkeypatch):
    monkeypatch.setenv("REVCERT_BUSINESS_UNIT_FIELD", "Region__c")
    account = salesforce_objects(Settings())[0]
    assert "Region__c" in account.field_names and "Business_Unit__c" not in account.field_names


def test_incremental_soql_reads_from_the_watermark():
    from datetime import datetime, timezone

    soql = build_soql(subscription_object(), datetime(2026, 1, 1, 6, 0, tzinfo=timezone.utc), order=True)
    assert soql.startswith("SELECT Id, SBQQ__Account__c, ")
    assert soql.endswith("FROM SBQQ__Subscription__c WHERE SystemModstamp >= 2026-01-01T06:00:00Z "
                         "ORDER BY SystemModstamp, Id")

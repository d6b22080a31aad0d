from datetime import datetime, timezone
from decimal import Decimal

import pytest

from revcert.standins.salesforce.soql import SoqlError, matches, parse

RECORDS = [
    {"Id": "a1", "Name": "Acme", "Amount": Decimal("10.50"), "IsDeleted": False,
     "SystemModstamp": "2026-01-01T10:00:00.000+0000", "StartDate": "2026-01-01"},
    {"Id": "a2", "Name": "Beta", "Amount": None, "IsDeleted": True,
     "SystemModstamp": "2026-03-01T10:00:00.000+0000", "StartDate": "2026-02-29"[:8] + "28"},
]


def select(where: str) -> list[str]:
    query = parse(f"SELECT Id FROM Account WHERE {where}")
    return [r["Id"] for r in RECORDS if matches(query.where, r, lambda name: name)]


def test_field_list_from_order_limit():
    query = parse("SELECT Id, Name FROM Account WHERE IsDeleted = false ORDER BY SystemModstamp DESC, Id LIMIT 5")
    assert query.fields == ["Id", "Name"]
    assert query.object_name == "Account"
    assert query.order_by == [("SystemModstamp", True, True), ("Id", False, False)]
    assert query.limit == 5


def test_count_and_sum():
    assert parse("SELECT COUNT() FROM Account").is_count
    assert parse("select sum(Amount), SUM(Quantity) from X").aggregates == [("SUM", "Amount"), ("SUM", "Quantity")]


@pytest.mark.parametrize("where, expected", [
    ("SystemModstamp >= 2026-02-01T00:00:00Z", ["a2"]),
    ("SystemModstamp < 2026-02-01T00:00:00+00:00", ["a1"]),
    ("IsDeleted = false AND Amount > 10", ["a1"]),
    ("Amount = null", ["a2"]),
    ("Amount != null OR Name = 'Beta'", ["a1", "a2"]),
    ("Id IN ('a2', 'zz')", ["a2"]),
    ("Id NOT IN ('a2')", ["a1"]),
    ("NOT (Name = 'Acme')", ["a2"]),
    ("StartDate <= 2026-01-31", ["a1"]),
    ("Name = 'O\\'Brien'", []),
])
def test_where(where, expected):
    assert select(where) == expected


@pytest.mark.parametrize("soql", [
    "SELECT FROM Account",
    "SELECT Id FROM",
    "SELECT Id FROM Account WHERE",
    "SELECT Id FROM Account WHERE Name = ",
    "SELECT COUNT(), Id FROM Account",
    "SELECT Id FROM Account LIMIT x",
    "SELECT Id FROM Account ; DROP",
])
def test_malformed_queries_are_refused_with_salesforce_code(soql):
    with pytest.raises(SoqlError) as error:
        parse(soql)
    assert error.value.error_code == "MALFORMED_QUERY"


def test_datetime_literal_with_offset_is_compared_in_utc():
    query = parse("SELECT Id FROM A WHERE SystemModstamp = 2026-01-01T12:00:00+02:00")
    assert query.where.value == datetime(2026, 1, 1, 10, tzinfo=timezone.utc)

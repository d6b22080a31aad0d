"""Query pages: a page is loaded into raw set-based only when checking it value by value would find nothing
a record-by-record check finds, and then raw holds exactly what the record-by-record path writes."""
from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import psycopg
import pytest

from revcert.extraction.salesforce_client import BulkPage, RestPage
from revcert.extraction.salesforce_extract import ObjectExtraction, _append_page, _append_to_raw, _is_clean
from revcert.extraction.salesforce_objects import DistinctValues, page_is_clean, record_problems, salesforce_objects
from revcert.money import dumps_exact

SUBSCRIPTION = next(o for o in salesforce_objects() if o.api_name == "SBQQ__Subscription__c")
ACCOUNT = next(o for o in salesforce_objects() if o.api_name == "Account")
DEFINITIONS = {"SBQQ__NetPrice__c": {"precision": 18, "scale": 2}}


def line(number: int, **changes) -> dict:
    """A valid subscription line as REST sends it."""
    record = {"attributes": {"type": "SBQQ__Subscription__c",
                             "url": f"/services/data/v62.0/sobjects/SBQQ__Subscription__c/a1BRc00000{number:05d}MAM"},
              "Id": f"a1BRc00000{number:05d}MAM", "SBQQ__Account__c": "001Rc0000000TIuIAM",
              "SBQQ__Contract__c": "800Rc0000000TIuIAM", "SBQQ__Product__c": "01tRc0000000ffGIAQ",
              "SBQQ__Quantity__c": Decimal("2.0"), "SBQQ__NetPrice__c": Decimal("6210131.80"),
              "SBQQ__ProrateMultiplier__c": Decimal("0.6669708029197080"), "SBQQ__StartDate__c": "2026-09-20",
              "SBQQ__EndDate__c": None, "SBQQ__TerminatedDate__c": None, "SBQQ__RevisedSubscription__c": None,
              "CurrencyIsoCode": "JPY", "IsDeleted": number % 3 == 0,
              "SystemModstamp": f"2026-09-17T01:00:{number % 60:02d}.161+0000"}
    return {**record, **changes}


def rest_page(records: list[dict]) -> RestPage:
    """The records as REST sends them, parsed as the client parses them (numbers with a point to Decimal)."""
    text = dumps_exact({"totalSize": len(records), "done": True, "records": records})
    return RestPage(json.loads(text, parse_float=Decimal), text)


def bulk_page(records: list[dict]) -> BulkPage:
    """The records as Bulk 2.0 writes them: CSV, text cells, booleans as true/false, Z datetimes."""
    fields = [name for name in records[0] if name != "attributes"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for record in records:
        cells = [record.get(name) for name in fields]
        writer.writerow(["" if v is None else ("true" if v is True else "false" if v is False else
                                              str(v).replace("+0000", "Z")) for v in cells])
    return BulkPage(out.getvalue())


def finds_problems(page: RestPage | BulkPage) -> bool:
    return any(p for record in page.records for p in record_problems(SUBSCRIPTION, record, DEFINITIONS))


@pytest.mark.parametrize("make", [rest_page, bulk_page], ids=["rest", "bulk2"])
def test_a_page_of_valid_lines_is_clean(make):
    page = make([line(n) for n in range(1, 40)])
    assert not finds_problems(page)
    assert page_is_clean(SUBSCRIPTION, page.distinct, DEFINITIONS)


@pytest.mark.parametrize("change", [
    {"SBQQ__NetPrice__c": "12,000.00"}, {"SBQQ__NetPrice__c": Decimal("1.234")},
    {"SBQQ__StartDate__c": "2026-02-30"}, {"SBQQ__Account__c": "001; DROP"}, {"Id": None},
    {"SBQQ__Contract__c": "800Rc0000000TIuIAM\n"}, {"SystemModstamp": "2026-09-17T01:00:00+00:00"},
    {"SystemModstamp": "2026-02-30T01:00:00.000+0000"}, {"IsDeleted": "yes"},
], ids=lambda change: next(iter(change)))
@pytest.mark.parametrize("make", [rest_page, bulk_page], ids=["rest", "bulk2"])
def test_one_odd_value_sends_the_page_record_by_record(make, change):
    """Whatever breaks a rule, or would read differently in PostgreSQL, is never loaded set-based."""
    page = make([line(1), line(2, **change), line(3)])
    assert not page_is_clean(SUBSCRIPTION, page.distinct, DEFINITIONS)


@pytest.mark.parametrize("value", [True, {"amount": "1"}, Decimal("sNaN")], ids=repr)
def test_a_json_value_of_another_type_is_never_mistaken_for_a_valid_one(value):
    """True equals 1 and Decimal(1) in a set: the type is part of each distinct value, so a boolean
    among numbers is still seen; unhashable values send the page record by record."""
    page = rest_page([line(1, SBQQ__Quantity__c=Decimal(1)), line(2)])
    page.records[1]["SBQQ__Quantity__c"] = value
    assert not page_is_clean(SUBSCRIPTION, page.distinct, DEFINITIONS)


def test_an_is_deleted_of_one_is_not_taken_for_true():
    """Python's `1 in (True, "true")` holds; PostgreSQL's jsonb 1 is not true: such a page goes record by record."""
    page = rest_page([line(1), line(2)])
    page.records[1]["IsDeleted"] = 1
    assert not page_is_clean(SUBSCRIPTION, page.distinct, DEFINITIONS)


def test_an_empty_cell_is_null_quoted_or_not_and_ragged_csv_is_not_plain():
    page = BulkPage('Id,Name,IsDeleted,SystemModstamp\n001Rc0000000TIuIAM,"",false,'
                             '2026-01-01T00:00:00.000Z\n001Rc0000000TIuIAA,,false,2026-01-01T00:00:00.000Z\n')
    assert page.records[0]["Name"] is None and page.records[1]["Name"] is None
    assert page.distinct("Name") == DistinctValues(set(), has_null=True) and page.is_plain
    assert page_is_clean(ACCOUNT, page.distinct)
    assert not BulkPage("Id,Name\n001Rc0000000TIuIAM,a,b\n").is_plain
    assert not BulkPage("Id,Id\n001Rc0000000TIuIAM,x\n").is_plain
    assert not BulkPage("Id,Name\r\n001Rc0000000TIuIAM,x\r\n").is_plain
    assert not BulkPage("").is_plain and BulkPage("").records == []


def raw_rows(conn: psycopg.Connection, batch_id: int) -> list[tuple]:
    return conn.execute("select object_name, record_id, system_modstamp, is_deleted, record::text "
                        "from raw.salesforce_record where batch_id = %s order by record_id", [batch_id]).fetchall()


def new_batch(conn: psycopg.Connection) -> int:
    return conn.execute("insert into raw.extraction_batch (source, mode, status) values ('salesforce', 'full', "
                        "'running') returning batch_id").fetchone()[0]


@pytest.mark.integration
@pytest.mark.parametrize("make", [rest_page, bulk_page], ids=["rest", "bulk2"])
def test_a_clean_page_lands_in_raw_as_the_record_by_record_path_writes_it(warehouse_url, make):
    """Set-based from the page's text, or record by record from the parse: the same raw rows, and the same
    counts and newest SystemModstamp for the batch's audit."""
    awkward = [line(1, CurrencyIsoCode='say "hi", then\nleave \\ é €', SBQQ__NetPrice__c=Decimal("1234567.891234")),
               line(2, SBQQ__Quantity__c=Decimal("0E-8"), SBQQ__NetPrice__c=Decimal("-0.50"), IsDeleted=True),
               line(3, SBQQ__ProrateMultiplier__c=Decimal("1E+2"), SystemModstamp=None),
               *[line(n) for n in range(4, 30)]]
    page = make(awkward)
    assert _is_clean(SUBSCRIPTION, page, {})
    with psycopg.connect(warehouse_url) as conn:
        set_based, by_record = new_batch(conn), new_batch(conn)
        extractions = [ObjectExtraction(SUBSCRIPTION, "incremental", "rest", "", None, True) for _ in range(2)]
        assert _append_page(conn, set_based, extractions[0], page, True, {}) == []
        assert _append_to_raw(conn, by_record, extractions[1], page.records, {}) == []
        assert [row[1:] for row in raw_rows(conn, set_based)] == [row[1:] for row in raw_rows(conn, by_record)]
    counted = [(e.records_fetched, e.deleted_fetched, e.max_modstamp) for e in extractions]
    assert counted[0] == counted[1] == (29, 10, counted[1][2]) and counted[1][2] is not None

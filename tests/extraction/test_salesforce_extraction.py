"""Extraction into raw and staging: full, incremental, Bulk 2.0, faults, exactness, bad data."""
from __future__ import annotations

import random
from decimal import Decimal

import psycopg
import pytest

from revcert.extraction.errors import ExtractionError, SourceDataError
from revcert.extraction.salesforce_client import SalesforceClient, SalesforceCredentials
from revcert.extraction.salesforce_objects import salesforce_objects
from revcert.local.extract import extract_salesforce
from revcert.settings import Settings
from revcert.snapshots.salesforce_snapshot import read_records
from revcert.staging.audit import read_batch_audit
from revcert.staging.salesforce_staging import check_duplicate_ids
from revcert.standins.salesforce.server import Fault, SalesforceOrg, SalesforceStandIn

pytestmark = pytest.mark.integration

STAGING_TABLES = ("stg_account", "stg_contract", "stg_opportunity", "stg_product", "stg_subscription_line",
                  "stg_dated_conversion_rate", "stg_currency_type")
FAST = Settings(retry_attempts=4, request_timeout=5)


def client_for(standin: SalesforceStandIn, settings: Settings = FAST) -> SalesforceClient:
    return SalesforceClient(SalesforceCredentials(standin.url, standin.client_id, standin.client_secret,
                                                  str(standin.ca_bundle)), settings)


def extract(url: str, standin: SalesforceStandIn, settings: Settings = FAST, **kwargs):
    return extract_salesforce(url, client_for(standin, settings), settings, **kwargs)


def audit_of(url: str, batch_id: int):
    with psycopg.connect(url) as conn:
        return read_batch_audit(conn, batch_id)


def staging_rows(url: str) -> dict[str, list[tuple]]:
    """Every staging table's rows, without the batch that brought them, in key order."""
    rows = {}
    with psycopg.connect(url) as conn:
        for table in STAGING_TABLES:
            cursor = conn.execute(f"select * from staging.{table} order by 1")
            keep = [i for i, column in enumerate(cursor.description) if column.name != "batch_id"]
            rows[table] = [tuple(row[i] for i in keep) for row in cursor.fetchall()]
    return rows


def watermarks(url: str) -> dict[str, object]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("select object_name, watermark from staging.extraction_watermark").fetchall())


def test_full_extraction_stages_every_live_record_with_a_complete_audit(warehouse_url, standin, small_org):
    batch = extract(warehouse_url, standin)
    audit = audit_of(warehouse_url, batch)
    assert audit.complete
    assert {row.object_name for row in audit.rows} == {"Account", "Contract", "Opportunity", "Product2",
                                                      "SBQQ__Subscription__c", "DatedConversionRate", "CurrencyType"}
    snapshot = {r["Id"]: r for r in read_records(small_org, "SBQQ__Subscription__c")}
    with psycopg.connect(warehouse_url) as conn:
        staged = conn.execute("select subscription_line_id, net_price, quantity, prorate_multiplier, start_date, "
                              "is_deleted from staging.stg_subscription_line").fetchall()
        raw_count = conn.execute("select count(*) from raw.salesforce_record where object_name = "
                                 "'SBQQ__Subscription__c'").fetchone()[0]
    assert len(staged) == len(snapshot) == raw_count
    for line_id, net_price, quantity, prorate, start, deleted in staged:
        source = snapshot[line_id]
        assert (net_price, quantity, prorate, deleted) == (
            source["SBQQ__NetPrice__c"], source["SBQQ__Quantity__c"], source["SBQQ__ProrateMultiplier__c"],
            source["IsDeleted"])
        assert (start.isoformat() if start else None) == source["SBQQ__StartDate__c"]
    sums = {s.field_name: s for s in audit.control_sums}
    live = [r for r in snapshot.values() if not r["IsDeleted"]]
    assert sums["SBQQ__NetPrice__c"].staged_sum == sum(r["SBQQ__NetPrice__c"] for r in live)
    assert sums["SBQQ__Quantity__c"].source_sum == sum(r["SBQQ__Quantity__c"] for r in live)


def test_staging_leaves_the_planner_statistics_of_every_table_it_filled(warehouse_url, standin):
    """The mart plans its reads of staging right after the merge: from the tables' real sizes, not from none."""
    extract(warehouse_url, standin)
    with psycopg.connect(warehouse_url) as conn:
        for table in STAGING_TABLES:
            rows = conn.execute(f"select count(*) from staging.{table}").fetchone()[0]
            counted = conn.execute("select reltuples from pg_class where oid = %s::regclass",
                                   [f"staging.{table}"]).fetchone()[0]
            assert rows > 0 and counted == rows, table


def test_many_digit_net_price_arrives_unchanged_through_rest_and_bulk(warehouse_url, standin, postgres_server):
    line_id = next(iter(standin.org.objects["SBQQ__Subscription__c"]))
    standin.org.apply_edits("SBQQ__Subscription__c", changes={line_id: {
        "SBQQ__NetPrice__c": Decimal("1234567.891234"), "SBQQ__Quantity__c": Decimal("0.333333333333")}})
    extract(warehouse_url, standin)
    bulk_url = warehouse_url.rsplit("/", 1)[0] + "/" + _clone_name(postgres_server, warehouse_url)
    extract(bulk_url, standin, FAST.model_copy(update={"bulk_threshold": 0, "bulk_page_size": 300}))
    for url in (warehouse_url, bulk_url):
        with psycopg.connect(url) as conn:
            price, quantity, raw_text = conn.execute(
                "select s.net_price, s.quantity, r.record->>'SBQQ__NetPrice__c' "
                "from staging.stg_subscription_line s join raw.salesforce_record r "
                "on r.record_id = s.subscription_line_id where s.subscription_line_id = %s",
                [line_id]).fetchone()
        assert (price, quantity, raw_text) == (Decimal("1234567.891234"), Decimal("0.333333333333"), "1234567.891234")


def _clone_name(postgres_server, template_url: str) -> str:
    """A second empty migrated database beside `template_url`'s."""
    name = template_url.rsplit("/", 1)[1] + "_second"
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f'create database "{name}" template revcert_template')
    return name


def test_bulk_2_extraction_stages_exactly_what_rest_does(warehouse_url, standin, postgres_server):
    bulk_url = warehouse_url.rsplit("/", 1)[0] + "/" + _clone_name(postgres_server, warehouse_url)
    extract(warehouse_url, standin)
    batch = extract(bulk_url, standin, FAST.model_copy(update={"bulk_threshold": 100, "bulk_page_size": 250}))
    audit = audit_of(bulk_url, batch)
    apis = {row.object_name: row.api for row in audit.rows}
    assert apis["SBQQ__Subscription__c"] == "bulk2" and apis["CurrencyType"] == "rest"
    assert audit.complete
    assert staging_rows(bulk_url) == staging_rows(warehouse_url)
    assert any(path.endswith("/results") for path in (p.split("?")[0] for p in standin.request_log))


def edit_one_percent(org: SalesforceOrg, seed: int = 3) -> dict[str, set[str]]:
    """Change, add and delete about 1% of every incremental object's records; return the Ids touched."""
    rng = random.Random(seed)
    touched: dict[str, set[str]] = {}
    for name in ("Account", "Contract", "Opportunity", "SBQQ__Subscription__c"):
        records = [r for r in org.objects[name].values() if not r.get("IsDeleted")]
        count = max(3, len(records) // 100)
        chosen = rng.sample(records, count)
        changed, deleted, template = chosen[: count // 3], chosen[count // 3: 2 * count // 3], chosen[-1]
        new = [{**template, "Id": template["Id"][:-6] + f"{i:03d}ZZZ"}
               for i in range(count - len(changed) - len(deleted))]
        changes = {}
        for record in changed:
            if name == "SBQQ__Subscription__c":
                changes[record["Id"]] = {"SBQQ__Quantity__c": record["SBQQ__Quantity__c"] + 1}
            else:
                changes[record["Id"]] = {"AccountId" if name != "Account" else "Name": record.get(
                    "AccountId" if name != "Account" else "Name")}
        org.apply_edits(name, changes=changes, new=new, deletions=[r["Id"] for r in deleted])
        touched[name] = {r["Id"] for r in changed + deleted} | {r["Id"] for r in new}
    return touched


def test_incremental_extraction_fetches_only_the_edits_and_matches_a_full_read(
        warehouse_url, standin, small_org, postgres_server, tmp_path):
    extract(warehouse_url, standin)
    before = watermarks(warehouse_url)
    touched = edit_one_percent(standin.org)
    batch = extract(warehouse_url, standin)
    audit = {row.object_name: row for row in audit_of(warehouse_url, batch).rows}
    for name, ids in touched.items():
        lookback_start = before[name].timestamp() - FAST.lookback_seconds
        in_lookback = {r["Id"] for r in read_records(small_org, name)
                       if _epoch(r["SystemModstamp"]) >= lookback_start} - ids
        assert audit[name].replication == "incremental"
        assert audit[name].records_fetched == len(ids) + len(in_lookback), name
        assert audit[name].watermark_after > audit[name].watermark_before
        assert audit[name].source_count == audit[name].staged_count
    assert audit["Product2"].records_fetched == len(
        [r for r in read_records(small_org, "Product2") if _epoch(r["SystemModstamp"]) >= before["Product2"].timestamp()
         - FAST.lookback_seconds])
    # The records re-read unchanged (the lookback's) keep the batch that staged them, so a mart build recomputes
    # only what this batch changed.
    assert sum(audit[name].records_fetched for name in audit if audit[name].replication == "incremental") > sum(
        map(len, touched.values()))
    with psycopg.connect(warehouse_url) as conn:
        for obj in salesforce_objects(FAST):
            if obj.replication == "incremental":
                restaged = {row[0] for row in conn.execute(
                    f"select * from staging.{obj.staging_table} where batch_id = %s", [batch])}
                assert restaged == touched.get(obj.api_name, set()), obj.api_name

    full_url = warehouse_url.rsplit("/", 1)[0] + "/" + _clone_name(postgres_server, warehouse_url)
    extract(full_url, standin)
    assert staging_rows(warehouse_url) == staging_rows(full_url)


def _epoch(modstamp: str) -> float:
    from revcert.extraction.salesforce_objects import parse_salesforce_datetime

    return parse_salesforce_datetime(modstamp).timestamp()


def test_faults_that_clear_leave_staging_as_a_clean_run_does(warehouse_url, standin, postgres_server):
    clean_url = warehouse_url.rsplit("/", 1)[0] + "/" + _clone_name(postgres_server, warehouse_url)
    extract(clean_url, standin)
    standin.inject(Fault("status", nth=3, status=503, path_contains="/query/"))
    standin.inject(Fault("expire_session", nth=5))
    standin.inject(Fault("status", nth=9, status=403))
    standin.inject(Fault("cut", nth=12, path_contains="/query"))
    standin.inject(Fault("slow", nth=14, delay_seconds=1.5))
    batch = extract(warehouse_url, standin, FAST.model_copy(update={"request_timeout": 1}))
    assert all(fault.fired == 1 for fault in standin.faults)
    assert audit_of(warehouse_url, batch).complete
    assert staging_rows(warehouse_url) == staging_rows(clean_url)


def test_a_fault_that_never_clears_fails_cleanly_and_keeps_the_watermark(warehouse_url, standin):
    extract(warehouse_url, standin)
    staged_before, marks_before = staging_rows(warehouse_url), watermarks(warehouse_url)
    touched = edit_one_percent(standin.org)
    standin.inject(Fault("status", nth=2, status=503, times=None, path_contains="/query"))
    with pytest.raises(ExtractionError, match="after 4 attempts: HTTP 503"):
        extract(warehouse_url, standin)
    assert touched
    assert watermarks(warehouse_url) == marks_before
    assert staging_rows(warehouse_url) == staged_before
    with psycopg.connect(warehouse_url) as conn:
        status, error = conn.execute("select status, error from raw.extraction_batch order by batch_id desc "
                                     "limit 1").fetchone()
    assert status == "failed" and "503" in error
    standin.clear_faults()
    extract(warehouse_url, standin)
    assert watermarks(warehouse_url)["SBQQ__Subscription__c"] > marks_before["SBQQ__Subscription__c"]


def test_a_field_missing_from_the_org_is_named(warehouse_url, standin):
    settings = FAST.model_copy(update={"business_unit_field": "Region__c"})
    with pytest.raises(SourceDataError, match=r"fields missing from the Salesforce org: Account\.Region__c"):
        extract(warehouse_url, standin, settings)
    assert staging_rows(warehouse_url)["stg_account"] == []


def test_an_org_without_renewals_or_dated_rates_is_described_from_its_schema(warehouse_url, small_org, tmp_path):
    """A real org describes its objects whatever records they hold (issue 9, defect 5)."""
    org = SalesforceOrg.from_snapshot(small_org)
    org.objects["Opportunity"].clear()
    org.objects["DatedConversionRate"].clear()
    with SalesforceStandIn(org, state_dir=tmp_path) as standin:
        batch = extract(warehouse_url, standin)
    audit = {row.object_name: row for row in audit_of(warehouse_url, batch).rows}
    assert audit["Opportunity"].source_count == audit["Opportunity"].staged_count == 0
    assert audit["DatedConversionRate"].staged_count == 0
    assert audit["SBQQ__Subscription__c"].staged_count > 0


def test_malformed_numbers_are_refused_naming_every_record_and_raw_keeps_them(warehouse_url, standin):
    bad = list(standin.org.objects["SBQQ__Subscription__c"])[:2]
    standin.org.apply_edits("SBQQ__Subscription__c", changes={bad[0]: {"SBQQ__NetPrice__c": "12,000.00"},
                                                              bad[1]: {"SBQQ__Quantity__c": "three"}})
    with pytest.raises(SourceDataError) as error:
        extract(warehouse_url, standin)
    message = str(error.value)
    assert f"{bad[0]}: SBQQ__NetPrice__c = '12,000.00' is not a valid number" in message
    assert f"{bad[1]}: SBQQ__Quantity__c = 'three' is not a valid number" in message
    assert staging_rows(warehouse_url)["stg_subscription_line"] == []
    with psycopg.connect(warehouse_url) as conn:
        kept = conn.execute("select record->>'SBQQ__NetPrice__c' from raw.salesforce_record where record_id = %s",
                            [bad[0]]).fetchone()
    assert kept == ("12,000.00",)


def test_duplicate_ids_in_one_batch_are_refused(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        batch_id = conn.execute("insert into raw.extraction_batch (source, mode, status) values ('salesforce', "
                                "'full', 'running') returning batch_id").fetchone()[0]
        for name in ("Acme", "Acme Corp", "Acme Corp"):
            conn.execute("insert into raw.salesforce_record (batch_id, object_name, record_id, system_modstamp, "
                         "is_deleted, record) values (%s, 'Account', '001Rc0000000001IAA', '2026-01-01', false, "
                         "jsonb_build_object('Id', '001Rc0000000001IAA', 'Name', %s::text))", [batch_id, name])
        with pytest.raises(SourceDataError, match=r"duplicate Id: 1 record\(s\).*Account 001Rc0000000001IAA"):
            check_duplicate_ids(conn, batch_id)


def test_two_extractions_at_once_take_turns(warehouse_url, standin):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        batches = list(pool.map(lambda _: extract(warehouse_url, standin), range(2)))
    assert all(audit_of(warehouse_url, b).complete for b in batches)
    # Had they overlapped, neither would have seen the other's watermarks: two full reads.
    with psycopg.connect(warehouse_url) as conn:
        statuses = conn.execute("select mode from raw.extraction_batch order by batch_id").fetchall()
    assert sorted(s for (s,) in statuses) == ["full", "incremental"]

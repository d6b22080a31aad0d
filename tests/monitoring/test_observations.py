"""Monitoring's observation points against a real warehouse, with the history inserted directly: the figures
after transform (a business unit's MRR, a shop's day) warn; an expected resolution suppresses a hold within
its validity and not after."""
from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest

from revcert.certification.record import open_certification, read_certification, update_certification
from revcert.monitoring.ledger import held_certifications, read_incident, resolve_incident
from revcert.monitoring.observations import observe_batch, observe_figures, run_findings
from revcert.monitoring.thresholds import Thresholds, read_thresholds
from revcert.notifications.slack import monitoring_lines
from tests.airflow_harness import AS_OF, SHOP_AS_OF
from tests.monitoring.history import plant_history

pytestmark = pytest.mark.integration

TODAY = date(2026, 11, 22)
QUIET = ["0.001", "0", "-0.002", "0.0005", "0"]


def running_record(conn: psycopg.Connection, dag_id: str, run_id: str, as_of: date, scope: str = "",
                   batch_id: int | None = None):
    certification_id = open_certification(conn, dag_id, run_id, as_of, scope=scope)
    if batch_id is not None:
        update_certification(conn, certification_id, extraction_batch_id=batch_id)
    return read_certification(conn, certification_id)


def test_one_business_unit_down_30_percent_overnight_warns_after_transform_and_holds_nothing(
        warehouse_after_certified_run):
    url = warehouse_after_certified_run
    with psycopg.connect(url) as conn:
        units = [row[0] for row in conn.execute("select business_unit from viz.mrr_bridge where ending_mrr > 0 and "
                                                "month = date_trunc('month', %s::date) order by 1", [AS_OF])]
    for unit in [*units, "all business units"]:
        plant_history(url, dag_id="certified_mrr", point="figures", metric="ending_mrr_change", subject=unit,
                      values=QUIET)
    fallen = units[0]
    with psycopg.connect(url) as conn:
        # What transform would build if a third of the unit's customers had left overnight.
        conn.execute("update mart.mart_mrr_bridge set ending_mrr = round(ending_mrr * 0.7, 2) where business_unit = %s "
                     "and month = date_trunc('month', %s::date)", [fallen, AS_OF])
        record = running_record(conn, "certified_mrr", "manual__overnight", AS_OF)
        # A mart another run built is not this run's figures.
        assert observe_figures(conn, record, read_thresholds(), today=TODAY) == []
        conn.execute("update mart.mart_build set certification_id = %s", [record.certification_id])
        findings = observe_figures(conn, record, read_thresholds(), today=TODAY)
        conn.commit()
        status = read_certification(conn, record.certification_id).status
        stored = dict(conn.execute("select subject, severity from monitoring.observation where certification_id = %s "
                                   "and point = 'figures'", [record.certification_id]).fetchall())
    by_unit = {f.subject: f for f in findings}
    assert set(by_unit) == {*units, "all business units"}
    warned = by_unit[fallen]
    assert warned.severity == "warning" and warned.score <= -4
    assert -0.31 <= warned.value <= -0.29 and warned.history_size == 5 and warned.thresholds["hold_score"] is None
    assert {f.subject for f in findings if f.is_anomaly} == {fallen}
    incident = read_incident(psycopg.connect(url), warned.incident_id)
    assert (incident.kind, incident.severity, incident.status, incident.is_holding) == ("anomaly", "warning", "open",
                                                                                        False)
    assert incident.rule == "ending_mrr_change" and incident.subject == fallen
    assert status == "running" and stored[fallen] == "warning"


def test_a_shop_with_zero_orders_on_a_day_it_usually_has_hundreds_is_caught_for_that_shop(shops_after_certified_run):
    url = shops_after_certified_run
    with psycopg.connect(url) as conn:
        busiest, other = [row[0] for row in conn.execute(
            "select shop_id from mart.mart_shop_day group by shop_id order by sum(order_count) desc, shop_id limit 2")]
        days = {shop: conn.execute("select max(day) from mart.mart_shop_day where shop_id = %s and day <= %s",
                                   [shop, SHOP_AS_OF]).fetchone()[0] for shop in (busiest, other)}
        # An incremental run's scope: one day per shop; the busiest shop's day came back with no orders.
        for shop, day in days.items():
            conn.execute("delete from mart.mart_shop_day_scope where shop_id = %s and day <> %s", [shop, day])
        conn.execute("update mart.mart_shop_day set order_count = 0, gross_revenue = 0, refunds = 0, net_revenue = 0, "
                     "refund_count = 0 where shop_id = %s and day = %s", [busiest, days[busiest]])
    empty_day = days[busiest]
    plant_history(url, dag_id="shop_daily_revenue", point="figures", metric="shop_day_orders", subject=busiest,
                  values=["290", "310", "305", "296", "300", "312", "288", "301"],
                  days=[empty_day - timedelta(weeks=week) for week in range(8, 0, -1)])
    with psycopg.connect(url) as conn:
        findings = {}
        for shop in (busiest, other):
            record = running_record(conn, "shop_daily_revenue", "manual__quiet_day", SHOP_AS_OF, scope=shop)
            conn.execute("update mart.mart_shop_build set certification_id = %s where shop_id = %s",
                         [record.certification_id, shop])
            findings[shop] = {f.metric: f for f in observe_figures(conn, record, read_thresholds(), today=TODAY)}
    caught = findings[busiest]["shop_day_orders"]
    assert caught.observed_day == empty_day and caught.value == 0 and caught.subject == busiest
    assert caught.severity == "warning" and caught.score <= -4 and caught.history_size == 8
    assert findings[other]["shop_day_orders"].severity in ("ok", "recorded")
    with psycopg.connect(url) as conn:
        incident = read_incident(conn, caught.incident_id)
    assert (incident.rule, incident.scope, incident.severity) == ("shop_day_orders", busiest, "warning")
    assert f"shop_day_orders of {busiest} on {empty_day}: 0, usually 300" in incident.summary


def planted_deletions(conn: psycopg.Connection, share: float, offset_seconds: int) -> int:
    """A staged incremental batch whose new versions delete `share` of the subscriptions: its audit and raw
    records, as extraction and staging leave them (the observation reads nothing else)."""
    live = conn.execute("select count(*) from staging.stg_subscription_line where not is_deleted").fetchone()[0]
    deleted = int(live * share)
    batch_id = conn.execute("insert into raw.extraction_batch (source, mode, status, started_at) values "
                            "('salesforce', 'incremental', 'staged', now()) returning batch_id").fetchone()[0]
    conn.execute("insert into raw.salesforce_record (batch_id, object_name, record_id, system_modstamp, is_deleted, "
                 "record, received_at) select %s, object_name, record_id, now() + make_interval(secs => %s), true, "
                 "record, now() from (select distinct on (record_id) object_name, record_id, record from "
                 "raw.salesforce_record where object_name = 'SBQQ__Subscription__c' order by record_id limit %s) "
                 "as lines", [batch_id, offset_seconds, deleted])
    conn.execute("insert into staging.extraction_audit (batch_id, object_name, replication, api, soql, "
                 "records_fetched, deleted_fetched, source_count, staged_count, extracted_at, staged_at) values "
                 "(%s, 'SBQQ__Subscription__c', 'incremental', 'rest', 'planted', %s, %s, %s, %s, now(), now())",
                 [batch_id, deleted, deleted, live - deleted, live - deleted])
    return batch_id


def test_an_expected_resolution_suppresses_the_same_hold_until_its_date_and_not_after(warehouse_after_certified_run):
    url = warehouse_after_certified_run
    plant_history(url, dag_id="certified_mrr", point="batch", metric="deleted_share",
                  subject="SBQQ__Subscription__c", values=["0", "0.0008", "0", "0.0004", "0"], batch_mode="incremental")
    thresholds = read_thresholds()

    def observe(run_id: str, today: date, offset: int):
        with psycopg.connect(url) as conn:
            record = running_record(conn, "certified_mrr", run_id, AS_OF, batch_id=planted_deletions(conn, 0.4, offset))
            return observe_batch(conn, record, thresholds, today=today, release=[], released_by="nobody")

    first = observe("manual__year_end_1", date(2026, 12, 1), 10)
    assert first.held and first.pages
    [incident] = first.holding
    with psycopg.connect(url) as conn:
        resolve_incident(conn, incident.incident_id, "year-end clean-up of duplicate lines", "a.controller",
                         expected_until=date(2026, 12, 31))

    again = observe("manual__year_end_2", date(2026, 12, 31), 20)
    assert not again.held and not again.pages
    [suppressed] = [f for f in again.findings if f.is_anomaly]
    assert suppressed.severity == "hold" and suppressed.suppressed_by_incident_id == incident.incident_id
    note = (f"suppressed by incident {incident.incident_id}: year-end clean-up of duplicate lines (expected until "
            "2026-12-31)")
    assert suppressed.suppression_note == note
    with psycopg.connect(url) as conn:
        status = read_certification(conn, again.certification.certification_id).status
        stored = conn.execute("select severity, suppression_note from monitoring.observation where certification_id "
                              "= %s and metric = 'deleted_share'", [again.certification.certification_id]).fetchone()
        still = read_incident(conn, incident.incident_id)
        notice = "\n".join(monitoring_lines(run_findings(conn, "certified_mrr", "manual__year_end_2")))
    assert status == "running" and stored == ("hold", note)
    assert still.status == "resolved" and still.runs_affected == 2
    assert f"• _suppressed_: {suppressed.summary}; {note}" in notice
    assert suppressed.summary.startswith("deleted_share of SBQQ__Subscription__c: 0.")

    after = observe("manual__year_end_3", date(2027, 1, 1), 30)
    assert after.held and after.pages
    [reopened] = after.holding
    assert reopened.incident_id != incident.incident_id and reopened.is_holding and reopened.status == "open"


def planted_shop_batch(conn: psycopg.Connection, shop_id: str, orders: int) -> int:
    """A staged incremental batch of one shop that read `orders` orders (its audit, as staging leaves it)."""
    batch_id = conn.execute("insert into raw.extraction_batch (source, shop_id, mode, status, started_at) values "
                            "('shopify', %s, 'incremental', 'staged', now()) returning batch_id",
                            [shop_id]).fetchone()[0]
    conn.execute("insert into staging.shopify_extraction_audit (batch_id, shop_id, api, orders_fetched, source_count, "
                 "staged_count, extracted_at, staged_at) select %s, shop_id, api, %s, source_count, "
                 "staged_count, now(), now() from staging.shopify_extraction_audit where shop_id = %s order by "
                 "batch_id desc limit 1", [batch_id, orders, shop_id])
    return batch_id


def test_a_shop_is_held_on_its_own_by_a_reviewed_hold_threshold_and_released_by_naming_its_incident(
        shops_after_certified_run):
    url = shops_after_certified_run
    thresholds = {**read_thresholds(), "records_changed": Thresholds(4, 8, 5, 10, "up", "a reviewed row")}
    with psycopg.connect(url) as conn:
        flooded, calm = [row[0] for row in conn.execute("select shop_id from staging.stg_shop order by 1 limit 2")]
    for shop in (flooded, calm):
        plant_history(url, dag_id="shop_daily_revenue", point="batch", metric="records_changed", subject=shop,
                      values=["20", "25", "18", "22", "21"], batch_mode="incremental")

    def observe(run_id: str, release: list[int]):
        with psycopg.connect(url) as conn:
            return {shop: observe_batch(conn, running_record(conn, "shop_daily_revenue", run_id, SHOP_AS_OF, shop,
                                                             planted_shop_batch(conn, shop, orders)),
                                        thresholds, today=TODAY, release=release, released_by="on.call")
                    for shop, orders in ((flooded, 5000), (calm, 23))}

    first = observe("manual__flood", [])
    assert first[flooded].held and first[flooded].pages and not first[calm].held
    [incident] = first[flooded].holding
    assert (incident.scope, incident.rule, incident.subject) == (flooded, "records_changed", flooded)
    with psycopg.connect(url) as conn:
        record = read_certification(conn, first[flooded].certification.certification_id)
        assert held_certifications(conn, [first[s].certification.certification_id for s in first]) == {
            record.certification_id}
    assert record.status == "failed" and record.failure_summary.endswith(f"for shop {flooded}.")
    # Naming another incident releases nothing; the same flood again is the same incident: held, not paged again.
    again = observe("manual__flood_again", [incident.incident_id + 1000])
    assert again[flooded].held and not again[flooded].pages
    assert [i.incident_id for i in again[flooded].holding] == [incident.incident_id]
    released = observe("manual__release", [incident.incident_id])
    assert [i.incident_id for i in released[flooded].released] == [incident.incident_id]
    # Released, but this run's own batch floods too: that is a new incident, which holds and pages.
    assert released[flooded].held and released[flooded].pages
    assert released[flooded].holding[0].incident_id != incident.incident_id

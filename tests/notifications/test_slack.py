"""The Slack texts on-call acts on, from certification records as the warehouse gives them back (amounts
as decimal strings): failed and blocked checks apart, each offending record with its account, advice that
fits the rule, and a backfill's one summary."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from revcert.certification.checks import integrity_result
from revcert.certification.record import Certification, CheckResult
from revcert.methodology.errors import Offence, RuleFailure
from revcert.methodology.mart import CHECKS
from revcert.methodology.shop_mart import SHOP_CHECKS
from revcert.notifications.accounts import Account
from revcert.notifications.advice import RULE_ADVICE
from revcert.notifications.slack import backfill_summary, certification_page, named_record_ids

ORG = "https://acme.my.salesforce.com"
RUN_URL = "http://airflow.test:8080/dags/certified_mrr/runs/manual__1"
CERTIFIED_AT = datetime(2026, 11, 21, 6, 5, tzinfo=timezone.utc)


def record(certification_id: int = 7, *checks: CheckResult, run_id: str = "manual__1", scope: str = "",
           status: str = "failed", as_of: date = date(2026, 11, 21), **values) -> Certification:
    fields = {"dag_id": "certified_mrr", "is_certify_only": False, "is_restatement": False,
              "extraction_batch_id": 3, "figures_hash": None, "certified_at": None, "published_at": None,
              "closed_at": None, "published_months": None, "withdrawn_months": None, "overrides_used": [],
              "row_counts": None, "failure_summary": "; ".join(f"{c.check_name}: {c.summary}" for c in checks),
              **values}
    return Certification(certification_id=certification_id, run_id=run_id, scope=scope, as_of_date=as_of,
                         status=status, checks={c.check_name: c for c in checks}, **fields)


def broken(rule: str, *offences: tuple[str, str]) -> CheckResult:
    """Check 2's result as transform records it when records break `rule`."""
    return integrity_result([RuleFailure(rule, CHECKS.get(rule, rule), tuple(Offence(*o) for o in offences))])


def blocked(check_name: str, why: str = "the mart was not built by this run") -> CheckResult:
    return CheckResult(check_name, None, f"not run: {why}")


PASSED_COMPLETENESS = CheckResult("completeness", True, "batch 3: 7 objects, counts and control sums equal the source")
ACME = Account("001000000000001AAA", "Acme <Holdings> & Co", "EMEA", False)


def test_a_broken_rule_names_the_customer_account_with_its_unit_and_a_link_into_the_org():
    line = "a1B000000000009AAA"
    failed = record(7, PASSED_COMPLETENESS, broken("missing_price_or_quantity", (line, "net price missing")),
                    blocked("movement_identity"), blocked("independent_derivation"))
    page = certification_page([failed], RUN_URL, {line: ACME}, ORG)
    assert (f"• `missing_price_or_quantity` <{ORG}/{line}|{line}>: net price missing; account "
            f"*Acme &lt;Holdings&gt; &amp; Co*, EMEA, <{ORG}/001000000000001AAA|001000000000001AAA>") in page
    assert f"*First record ids:* <{ORG}/{line}|{line}>" in page
    assert page.index("• `missing_price_or_quantity`") < page.index("*Blocked*"), "each record under its failure"


def test_checks_an_earlier_failure_kept_from_running_are_listed_as_blocked_not_failed():
    failed = record(7, PASSED_COMPLETENESS, broken("renewal_cycle", ("800000000000001AAA", "account 001")),
                    blocked("movement_identity"), blocked("independent_derivation"))
    page = certification_page([failed], RUN_URL)
    failed_part, blocked_part = page.split("*Blocked*")
    assert "*Failed checks:*\n• *integrity*: renewal_cycle: 1 record(s)" in failed_part
    assert "movement_identity" not in failed_part and "independent_derivation" not in failed_part
    assert "• *movement_identity* (blocked): not run: the mart was not built by this run" in blocked_part
    assert "• *independent_derivation* (blocked): not run" in blocked_part
    assert "completeness" not in page.split("*Run:*")[0]


def test_a_run_that_stopped_before_the_checks_shows_only_blocked_checks_and_the_extraction_advice():
    stopped = record(7, blocked("completeness", "batch 3 is failed: Salesforce request failed: HTTP 500"),
                     blocked("integrity"), blocked("movement_identity"), blocked("independent_derivation"))
    page = certification_page([stopped], RUN_URL)
    assert "*Failed checks:*" not in page
    assert "• *completeness* (blocked): not run: batch 3 is failed: Salesforce request failed: HTTP 500" in page
    assert "*extraction*: the extraction did not finish (see the extract task's log)" in page
    assert "override" not in page


@pytest.mark.parametrize("rule, customer_record", [
    ("negative_customer_mrr", "001000000000001AAA"),
    ("missing_conversion_rate", "a1B000000000009AAA"),
])
def test_no_override_is_advised_for_a_rule_an_override_cannot_fix(rule, customer_record):
    failed = record(7, PASSED_COMPLETENESS, broken(rule, (customer_record, "MRR -120.00 on 2026-10-01")))
    page = certification_page([failed], RUN_URL, {customer_record: ACME}, ORG)
    assert f"`{rule}`: {RULE_ADVICE[rule]}." in page
    assert "override" not in page.split("*Next:*")[1].replace("never overridden", "")


def test_a_chain_the_rules_cannot_classify_is_advised_the_reviewed_override():
    failed = record(7, PASSED_COMPLETENESS, broken("merged_customers", ("800000000000001AAA", "predecessors ...")))
    advice = certification_page([failed], RUN_URL).split("*Next:*")[1]
    assert "include/overrides/classification_overrides.csv" in advice and "approver" in advice


def test_the_account_itself_is_named_once_when_the_rule_names_the_customer():
    failed = record(7, PASSED_COMPLETENESS, broken("negative_customer_mrr", (ACME.account_id, "MRR -1.00")))
    page = certification_page([failed], RUN_URL, {ACME.account_id: ACME}, None)
    assert "• `negative_customer_mrr` account *Acme &lt;Holdings&gt; &amp; Co*, EMEA, 001000000000001AAA: MRR -1.00" \
        in page
    assert "<http" not in page.split("*Run:*")[0], "no org URL: no links"


def test_figures_that_differ_are_tabled_with_the_customers_behind_them():
    identity = CheckResult("movement_identity", False, "1 month(s) x business unit do not balance", [
        {"month": "2026-10-01", "business_unit": "EMEA", "expected": "120.00", "actual": "119.99",
         "difference": "-0.01", "record_ids": [ACME.account_id]}])
    page = certification_page([record(7, PASSED_COMPLETENESS, identity)], RUN_URL, {ACME.account_id: ACME}, ORG)
    assert "2026-10 EMEA" in page and "119.99" in page and "-0.01" in page
    assert f"*Customers behind it:* *Acme &lt;Holdings&gt; &amp; Co*, EMEA, <{ORG}/{ACME.account_id}|" in page
    assert "*movement_identity*: a defect in this code, not in the data: do not override" in page


def test_several_failing_shops_make_one_page_naming_each_shop():
    down = record(11, blocked("completeness", "batch 4 is failed: HTTP 503"), blocked("integrity"),
                  blocked("independent_derivation"), scope="1001")
    refused = record(12, CheckResult("completeness", True, "counts equal"),
                     integrity_result([RuleFailure("shop_missing_total", SHOP_CHECKS["shop_missing_total"],
                                                   (Offence("5550001", "no totalPriceSet"),))]),
                     blocked("independent_derivation", "the shop's mart was not built by this run"), scope="1003")
    page = certification_page([down, refused], RUN_URL)
    assert page.count(":rotating_light:") == 1 and "for 2 shop(s)" in page
    assert "*Shop 1001* (certification 11):" in page and "*Shop 1003* (certification 12):" in page
    assert "HTTP 503" in page and "• `shop_missing_total` 5550001: no totalPriceSet" in page
    assert "`shop_missing_total`: fix the named orders in Shopify" in page
    assert "certification_id 11, 12" in page


def test_the_record_ids_a_page_looks_up_are_those_of_its_failed_checks():
    line = "a1B000000000009AAA"
    identity = CheckResult("movement_identity", False, "unbalanced", [
        {"month": "2026-10-01", "business_unit": "EMEA", "expected": "1.00", "actual": "0.00",
         "difference": "-1.00", "record_ids": [ACME.account_id, line]}])
    passed = CheckResult("completeness", True, "counts equal", [{"rule": "x", "record_id": "never-shown"}])
    assert named_record_ids([record(7, passed, identity, broken("bad_prorate_multiplier", (line, "P 0")))]) == \
        [ACME.account_id, line]


def test_every_rule_a_run_can_break_has_its_own_advice_and_only_chain_rules_suggest_an_override():
    rules = {*CHECKS, *SHOP_CHECKS, "unclassified_line", "model_refused_data"}
    assert rules <= set(RULE_ADVICE)
    overridable = {rule for rule, advice in RULE_ADVICE.items() if "classification_overrides.csv" in advice}
    assert overridable == {"renewal_cycle", "unresolved_chain", "merged_customers"}


def test_a_backfill_summary_counts_its_runs_and_names_each_failed_one():
    published = [record(20 + n, run_id=f"backfill__2026-10-1{n}", status="certified", as_of=date(2026, 10, 10 + n),
                        certified_at=CERTIFIED_AT, published_at=CERTIFIED_AT,
                        published_months=["2026-09-01", "2026-10-01"][:n + 1])
                 for n in range(2)]
    failed = record(30, blocked("completeness", "batch 9 is failed: HTTP 500"), run_id="scheduled__2026-10-12",
                    as_of=date(2026, 10, 12))
    certify_only = record(31, run_id="backfill__2026-10-13", status="certified", as_of=date(2026, 10, 13),
                          is_certify_only=True, certified_at=CERTIFIED_AT)
    text = backfill_summary("certified_mrr", [*published, failed, certify_only],
                            lambda dag_id, run_id: f"http://airflow.test:8080/dags/{dag_id}/runs/{run_id}")
    head, *rest = text.splitlines()
    assert head == (":rotating_light: *Backfill of `certified_mrr` ended: 1 of 4 run(s) not certified.* As of "
                    "2026-10-10 to 2026-10-13: 2 certified and published, 1 certified only (nothing published), "
                    "1 not certified.")
    assert "*Months published:* 2 (2026-09 to 2026-10)." in rest
    assert "`backfill__2026-10-10` (as of 2026-10-10, certification 20)" in text
    assert "*Certified only:* `backfill__2026-10-13`" in text
    assert ("• `scheduled__2026-10-12` as of 2026-10-12, certification 30, failed: completeness: not run: batch 9 "
            "is failed: HTTP 500 http://airflow.test:8080/dags/certified_mrr/runs/scheduled__2026-10-12") in text


def test_a_backfill_that_certified_everything_says_so():
    runs = [record(40, run_id="backfill__a", status="certified", published_at=CERTIFIED_AT,
                   published_months=["2026-10-01"])]
    text = backfill_summary("certified_mrr", runs, lambda dag_id, run_id: "")
    assert text.startswith(":white_check_mark: *Backfill of `certified_mrr` ended: all 1 run(s) certified.*")
    assert "not certified" not in text.replace("0 not certified", "")

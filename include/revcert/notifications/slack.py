"""Slack messages through the Airflow Slack provider's incoming-webhook hook.

The page a certification failure sends must let a person act without opening
anything else first: which checks failed and which could not run (blocked by an
earlier failure), a small table of what differs, each offending record with the
customer account behind it (name, business unit, a link into the org), what to
do about each broken rule, the certification id, and a link to the run.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tabulate import tabulate

from revcert.certification.record import Certification, CheckResult
from revcert.notifications.accounts import Account, salesforce_record_url
from revcert.notifications.advice import CHECK_ADVICE, EXTRACTION_ADVICE, advice_for_rule

_ROWS_SHOWN = 8
_IDS_SHOWN = 10
_RUNS_SHOWN = 20
_FINDINGS_SHOWN = 10


def _escape(text: str) -> str:
    """Names are data, never markup: Slack's control characters are escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _record(record_id: str, instance_url: str | None) -> str:
    url = salesforce_record_url(instance_url, record_id)
    return f"<{url}|{_escape(record_id)}>" if url else _escape(record_id)


def _account(account: Account, instance_url: str | None) -> str:
    deleted = " (deleted)" if account.is_deleted else ""
    return (f"*{_escape(account.account_name or account.account_id)}*{deleted}, {_escape(account.business_unit)}, "
            f"{_record(account.account_id, instance_url)}")


def _label(discrepancy: dict[str, Any]) -> str:
    """Where a discrepancy is, in a few words: the month and unit, the cohort, the shop-day, or the object."""
    if "day" in discrepancy:
        return f"shop {discrepancy['shop_id']} {discrepancy['day']} {discrepancy['figure']}"
    if "month" in discrepancy:
        cohort = f"cohort {discrepancy['cohort_month'][:7]} " if "cohort_month" in discrepancy else ""
        figure = f" {discrepancy['figure']}" if "figure" in discrepancy else ""
        return f"{cohort}{discrepancy['month'][:7]} {discrepancy['business_unit']}{figure}"
    return f"{discrepancy['object']} {discrepancy['figure']}"


def _offence(discrepancy: dict[str, Any], accounts: dict[str, Account], instance_url: str | None) -> str:
    """One record that breaks a rule, with the customer account it is booked on when staging knows it."""
    record_id = discrepancy["record_id"]
    account = accounts.get(record_id)
    if account and account.account_id == record_id:
        return f"• `{discrepancy['rule']}` account {_account(account, instance_url)}: {discrepancy['actual']}"
    booked = f"; account {_account(account, instance_url)}" if account else ""
    return f"• `{discrepancy['rule']}` {_record(record_id, instance_url)}: {discrepancy['actual']}{booked}"


def _table(checks: list[CheckResult], accounts: dict[str, Account], instance_url: str | None) -> list[str]:
    """Figures that differ as a small table, with the customers behind them; records that break a rule as a
    list, each with its account."""
    found = [d for check in checks for d in check.discrepancies]
    figures = [d for d in found if "expected" in d]
    rows = [(_label(d), d["expected"], d["actual"], d.get("difference", "")) for d in figures][:_ROWS_SHOWN]
    lines = []
    if rows:
        lines += ["```", tabulate(rows, headers=("what", "expected", "actual", "difference"), disable_numparse=True,
                                  colalign=("left", "right", "right", "right")), "```"]
    behind = list(dict.fromkeys(i for d in figures for i in d.get("record_ids", []) if i in accounts))
    if behind:
        lines.append("*Customers behind it:* " + "; ".join(_account(accounts[i], instance_url)
                                                          for i in behind[:_IDS_SHOWN]))
    lines += [_offence(d, accounts, instance_url) for d in found if "rule" in d][:_ROWS_SHOWN]
    return lines


def named_record_ids(certifications: list[Certification]) -> list[str]:
    """Every record id the failed checks of `certifications` name, first seen first."""
    ids = (i for c in certifications for check in c.failed_checks for d in check.discrepancies
           for i in [*([d["record_id"]] if "record_id" in d else []), *d.get("record_ids", [])])
    return list(dict.fromkeys(ids))


def _headline(title: str, certification: Certification) -> str:
    return (f":rotating_light: *{title}* Run `{certification.run_id}` of `{certification.dag_id}`, as of "
            f"{certification.as_of_date}, certification {certification.certification_id}.")


def _failures(certification: Certification, accounts: dict[str, Account], instance_url: str | None) -> list[str]:
    """The checks that failed, then those an earlier failure kept from running (blocked: they say nothing)."""
    failed, blocked = certification.failed_checks, certification.blocked_checks
    if not failed and not blocked:
        return [f"*Why:* {certification.failure_summary}"]
    lines = []
    if failed:
        lines += ["*Failed checks:*", *(f"• *{check.check_name}*: {check.summary}" for check in failed),
                  *_table(failed, accounts, instance_url)]
        ids = named_record_ids([certification])[:_IDS_SHOWN]
        if ids:
            lines.append(f"*First record ids:* {', '.join(_record(i, instance_url) for i in ids)}")
    if blocked:
        lines += ["*Blocked* (not run because an earlier step failed; not failures of their own):",
                  *(f"• *{check.check_name}* (blocked): {check.summary}" for check in blocked)]
    return lines


def _advice(certification: Certification) -> list[str]:
    """What to do, rule by rule: the rules a failed check names, else the check's own advice."""
    advice = []
    for check in certification.checks.values():
        if check.passed is False:
            rules = dict.fromkeys(d["rule"] for d in check.discrepancies if "rule" in d)
            advice += [f"`{rule}`: {advice_for_rule(rule)}." for rule in rules] or \
                [f"*{check.check_name}*: {CHECK_ADVICE.get(check.check_name, 'see the certification record')}."]
        elif check.passed is None and check.check_name == "completeness":
            advice.append(f"*extraction*: {EXTRACTION_ADVICE}.")
    return advice


def _finding(finding: dict[str, Any]) -> str:
    shop = f" shop {_escape(finding['scope'])}" if finding.get("scope") else ""
    if finding.get("suppression_note"):
        return f"• _suppressed_{shop}: {_escape(finding['summary'])}; {_escape(finding['suppression_note'])}"
    incident = f", incident {finding['incident_id']}" if finding.get("incident_id") else ""
    return f"• *{finding['severity']}*{shop}{incident}: {_escape(finding['summary'])}"


def monitoring_lines(findings: list[dict[str, Any]], releases: list[dict[str, Any]] | None = None) -> list[str]:
    """What monitoring found in a run (warnings, holds, anomalies an expected resolution suppressed) and the
    holds the run released, as lines of the run's one message (empty when there is nothing to say).

    Args:
        findings: Each with `scope`, `severity`, `summary`, `incident_id` and `suppression_note`.
        releases: Each with `incident_id`, `scope`, `summary` and `released_by`.
    """
    lines = []
    if releases:
        lines += ["*Holds released by this run* (resolved as released; the same anomaly holds again next time):",
                  *(f"• incident {r['incident_id']}{' shop ' + _escape(r['scope']) if r['scope'] else ''} "
                    f"(by {_escape(r['released_by'])}): {_escape(r['summary'])}" for r in releases)]
    if findings:
        lines += ["*Monitoring* (every finding is in the incident ledger: `revcert incident list`):",
                  *(_finding(f) for f in findings[:_FINDINGS_SHOWN])]
        if len(findings) > _FINDINGS_SHOWN:
            lines.append(f"… and {len(findings) - _FINDINGS_SHOWN} more (monitoring.observation).")
    return lines


def hold_page(held: list[Certification], findings: dict[int, list[dict[str, Any]]], run_url: str, *,
              tripped: bool) -> str:
    """The message of a run monitoring held before transform: what holds each held record (its failure summary
    says how to release it) and what its batch showed.

    Args:
        held: The held records: the run's, or one per held shop.
        findings: Each held record's findings (by certification id), as monitoring_lines takes them.
        run_url: The run in the Airflow UI.
        tripped: This run's own batch tripped a hold: a page. Otherwise an earlier hold still holds the
            pipeline, which paged when it tripped: a reminder.
    """
    first = held[0]
    title = "held before transform" if tripped else "still held before transform (an earlier hold)"
    if len(held) == 1 and not first.scope:
        headline = f"*Revenue run {title}: nothing transformed or published.*"
        sections = [f"*Why:* {_escape(first.failure_summary or '')}",
                    *monitoring_lines(findings.get(first.certification_id, []))]
    else:
        headline = (f"*Shop revenue {title} for {len(held)} shop(s): their days are not recomputed or published; "
                    "the other shops go on.*")
        sections = [line for certification in held for line in (
            f"*Shop {certification.scope}* (certification {certification.certification_id}): "
            f"{_escape(certification.failure_summary or '')}",
            *monitoring_lines(findings.get(certification.certification_id, [])))]
    icon = ":rotating_light:" if tripped else ":pause_button:"
    return "\n".join([f"{icon} {headline} Run `{first.run_id}` of `{first.dag_id}`, as of {first.as_of_date}"
                      + (f", certification {first.certification_id}." if not first.scope else "."),
                      *sections, f"*Run:* {run_url}"])


def certification_page(certifications: list[Certification], run_url: str,
                       accounts: dict[str, Account] | None = None, instance_url: str | None = None,
                       monitoring: list[str] | None = None) -> str:
    """The one page of a run whose certification failed: every failed record (the run, or each shop).

    Args:
        certifications: The failed records: the run's, or one per failed shop.
        run_url: The run in the Airflow UI.
        accounts: The account behind each named record id (accounts_of_records); none for shops.
        instance_url: The org's URL, for links to records (None: ids without links).
        monitoring: What monitoring found in the run (monitoring_lines), shown before the link.
    """
    accounts = accounts or {}
    first = certifications[0]
    if len(certifications) == 1 and not first.scope:
        lines = [_headline("Revenue not certified: publishing halted.", first),
                 *_failures(first, accounts, instance_url)]
    else:
        lines = [f":rotating_light: *Shop revenue not certified for {len(certifications)} shop(s): their figures "
                 f"are not published, the other shops' are.* Run `{first.run_id}` of `{first.dag_id}`, as of "
                 f"{first.as_of_date}."]
        for certification in certifications:
            lines += [f"*Shop {certification.scope}* (certification {certification.certification_id}):",
                      *_failures(certification, accounts, instance_url)]
    advice = list(dict.fromkeys(a for c in certifications for a in _advice(c)))
    lines += [*(monitoring or []), f"*Run:* {run_url}", "*Next:*", *(f"• {a}" for a in advice),
              "Then re-run. The record: certification.check_result, certification_id "
              f"{', '.join(str(c.certification_id) for c in certifications)}. The figures already published are "
              "unchanged."]
    return "\n".join(lines)


def abandoned_page(certification: Certification, run_url: str) -> str:
    """The page of a run that ended before it could certify (refused, gave up waiting, taken over)."""
    return "\n".join([_headline("Revenue run abandoned: nothing certified or published.", certification),
                      f"*Why:* {certification.failure_summary}", f"*Run:* {run_url}",
                      "*Next:* fix what the reason names and trigger the run again. The figures already "
                      "published are unchanged."])


def unpublished_page(certification: Certification, run_url: str, why: str) -> str:
    """The page of a run whose figures were certified but could not be published."""
    return "\n".join([_headline("Revenue certified but not published.", certification), f"*Why:* {why}",
                      f"*Run:* {run_url}",
                      "*Next:* re-run; the figures already published are unchanged."])


def unreachable_page(dag_id: str, run_id: str, why: str, run_url: str) -> str:
    return "\n".join([f":rotating_light: *Revenue run failed: the warehouse is unreachable.* Run `{run_id}` of "
                      f"`{dag_id}`.", f"*Why:* {why}", f"*Run:* {run_url}",
                      "*Next:* check the warehouse connection (`revcert_warehouse`) and PostgreSQL; nothing was "
                      "certified or published."])


def certified_notice(certification: Certification, run_url: str, shops: list[Certification] | None = None,
                     monitoring: list[str] | None = None) -> str:
    """The notice of a certified run: what it published (months, or shops), or that it was certify-only; then
    what monitoring found in it (monitoring_lines), if anything."""
    return "\n".join([_published(certification, run_url, shops), *(monitoring or [])])


def _published(certification: Certification, run_url: str, shops: list[Certification] | None) -> str:
    if shops:
        return (f":white_check_mark: Shop revenue certified and published: as of {certification.as_of_date}, "
                f"{len(shops)} shop(s) ({', '.join(s.scope for s in shops)}), certifications "
                f"{', '.join(str(s.certification_id) for s in shops)}. {run_url}")
    if certification.is_certify_only:
        published = "certify-only run: nothing was published"
    else:
        months = certification.published_months or []
        published = f"{len(months)} month(s) published" + (f" ({months[0][:7]} to {months[-1][:7]})"
                                                             if months else "")
        if certification.withdrawn_months:
            published += f"; withdrawn: {', '.join(m[:7] for m in certification.withdrawn_months)}"
    return (f":white_check_mark: Revenue certified: as of {certification.as_of_date}, certification "
            f"{certification.certification_id}; {published}. {run_url}")


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _run_list(runs: list[Certification]) -> str:
    shown = ", ".join(f"`{r.run_id}` (as of {r.as_of_date}, certification {r.certification_id})"
                      for r in runs[:_RUNS_SHOWN])
    return shown + (f" and {len(runs) - _RUNS_SHOWN} more" if len(runs) > _RUNS_SHOWN else "")


def backfill_summary(dag_id: str, runs: list[Certification], run_url: Callable[[str, str], str]) -> str:
    """The one message of a backfill, when its last run ends: what each of its runs came to.

    Args:
        dag_id: The backfilled DAG.
        runs: The run record (scope '') of every run of the backfill.
        run_url: Builds the link to a run from (dag_id, run_id).
    """
    published = [r for r in runs if r.status == "certified" and r.published_at]
    certify_only = [r for r in runs if r.status == "certified" and r.is_certify_only]
    failed = [r for r in runs if r not in published and r not in certify_only]
    dates = sorted(r.as_of_date for r in runs)
    icon, verdict = ((":rotating_light:", f"{len(failed)} of {len(runs)} run(s) not certified") if failed
                     else (":white_check_mark:", f"all {len(runs)} run(s) certified"))
    lines = [f"{icon} *Backfill of `{dag_id}` ended: {verdict}.* As of {dates[0]} to {dates[-1]}: "
             f"{len(published)} certified and published, {len(certify_only)} certified only (nothing published), "
             f"{len(failed)} not certified."]
    months = sorted({m for r in published for m in r.published_months or []})
    if months:
        lines.append(f"*Months published:* {len(months)} ({months[0][:7]} to {months[-1][:7]}).")
    if published:
        lines.append(f"*Certified and published:* {_run_list(published)}.")
    if certify_only:
        lines.append(f"*Certified only:* {_run_list(certify_only)}.")
    if failed:
        lines.append("*Not certified* (nothing of theirs published; the figures shown before stay):")
        lines += [f"• `{r.run_id}` as of {r.as_of_date}, certification {r.certification_id}, {r.status}: "
                  f"{_short(r.failure_summary or 'see the run')} {run_url(dag_id, r.run_id)}"
                  for r in failed[:_RUNS_SHOWN]]
        if len(failed) > _RUNS_SHOWN:
            lines.append(f"… and {len(failed) - _RUNS_SHOWN} more (certification.certification_run).")
        lines.append("*Next:* read each record (certification.check_result) and trigger those runs again with "
                     "their as-of dates.")
    return "\n".join(lines)


def send_slack(conn_id: str, text: str) -> None:
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    SlackWebhookHook(slack_webhook_conn_id=conn_id).send(text=text)

"""Slack messages through the Airflow Slack provider's incoming-webhook hook.

The page a certification failure sends must let a person act without opening
anything else first: which checks failed, a small table of what differs, the
first record ids, the certification id, and a link to the run.
"""
from __future__ import annotations

from typing import Any

from tabulate import tabulate

from revcert.certification.record import Certification, CheckResult

_ROWS_SHOWN = 8
_IDS_SHOWN = 10


def _label(discrepancy: dict[str, Any]) -> str:
    """Where a discrepancy is, in a few words: the month and unit, the cohort, the shop-day, or the object."""
    if "day" in discrepancy:
        return f"shop {discrepancy['shop_id']} {discrepancy['day']} {discrepancy['figure']}"
    if "month" in discrepancy:
        cohort = f"cohort {discrepancy['cohort_month'][:7]} " if "cohort_month" in discrepancy else ""
        figure = f" {discrepancy['figure']}" if "figure" in discrepancy else ""
        return f"{cohort}{discrepancy['month'][:7]} {discrepancy['business_unit']}{figure}"
    return f"{discrepancy['object']} {discrepancy['figure']}"


def _table(checks: list[CheckResult]) -> list[str]:
    """Figures that differ as a small table; records that break a rule as a list."""
    found = [d for check in checks for d in check.discrepancies]
    rows = [(_label(d), d["expected"], d["actual"], d.get("difference", "")) for d in found
            if "expected" in d][:_ROWS_SHOWN]
    lines = []
    if rows:
        lines += ["```", tabulate(rows, headers=("what", "expected", "actual", "difference"), disable_numparse=True,
                                  colalign=("left", "right", "right", "right")), "```"]
    lines += [f"• `{d['rule']}` {d['record_id']}: {d['actual']}" for d in found if "rule" in d][:_ROWS_SHOWN]
    return lines


def _record_ids(checks: list[CheckResult]) -> list[str]:
    ids: list[str] = []
    for check in checks:
        for discrepancy in check.discrepancies:
            ids += [i for i in discrepancy.get("record_ids", []) if i not in ids]
    return ids[:_IDS_SHOWN]


def _headline(title: str, certification: Certification) -> str:
    return (f":rotating_light: *{title}* Run `{certification.run_id}` of `{certification.dag_id}`, as of "
            f"{certification.as_of_date}, certification {certification.certification_id}.")


def _failures(certification: Certification) -> list[str]:
    failed = certification.failed_checks
    if not failed:
        return [f"*Why:* {certification.failure_summary}"]
    lines = [f"• *{check.check_name}*{'' if check.passed is False else ' (blocked)'}: {check.summary}"
             for check in failed]
    lines += _table(failed)
    ids = _record_ids(failed)
    if ids:
        lines.append(f"*First record ids:* {', '.join(ids)}")
    return lines


def certification_page(certifications: list[Certification], run_url: str) -> str:
    """The one page of a run whose certification failed: every failed record (the run, or each shop)."""
    first = certifications[0]
    if len(certifications) == 1 and not first.scope:
        lines = [_headline("Revenue not certified: publishing halted.", first), "*Failed checks:*", *_failures(first)]
    else:
        lines = [f":rotating_light: *Shop revenue not certified for {len(certifications)} shop(s): their figures "
                 f"are not published, the other shops' are.* Run `{first.run_id}` of `{first.dag_id}`, as of "
                 f"{first.as_of_date}."]
        for certification in certifications:
            lines += [f"*Shop {certification.scope}* (certification {certification.certification_id}):",
                      *_failures(certification)]
    lines += [f"*Run:* {run_url}",
              "*Next:* read the certification record (certification.check_result, certification_id "
              f"{', '.join(str(c.certification_id) for c in certifications)}); fix the source records (or, for a "
              "chain the rules cannot classify, add a classification override with a reason and an approver); then "
              "re-run. The figures already published are unchanged."]
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


def certified_notice(certification: Certification, run_url: str, shops: list[Certification] | None = None) -> str:
    """The notice of a certified run: what it published (months, or shops), or that it was certify-only."""
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


def send_slack(conn_id: str, text: str) -> None:
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    SlackWebhookHook(slack_webhook_conn_id=conn_id).send(text=text)

"""Slack messages through the Airflow Slack provider's incoming-webhook hook.

The page a certification failure sends must let a person act without opening
anything else first: which checks failed, a small table of what differs, the
first record ids, the certification id, and a link to the run.
"""
from __future__ import annotations

from typing import Any

from revcert.certification.record import Certification, CheckResult

_ROWS_SHOWN = 8
_IDS_SHOWN = 10


def _label(discrepancy: dict[str, Any]) -> str:
    if "month" in discrepancy:
        figure = f" {discrepancy['figure']}" if "figure" in discrepancy else ""
        return f"{discrepancy['month'][:7]} {discrepancy['business_unit']}{figure}"
    return f"{discrepancy['object']} {discrepancy['figure']}"


def _table(checks: list[CheckResult]) -> list[str]:
    """Figures that differ as a small table; records that break a rule as a list."""
    found = [d for check in checks for d in check.discrepancies]
    rows = [(_label(d), str(d["expected"]), str(d["actual"]), str(d.get("difference", "")))
            for d in found if "expected" in d][:_ROWS_SHOWN]
    lines = []
    if rows:
        header = ("what", "expected", "actual", "difference")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        lines += ["```", *("  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
                                    for i, cell in enumerate(row)) for row in [header, *rows]), "```"]
    lines += [f"• `{d['rule']}` {d['record_id']}: {d['actual']}" for d in found if "rule" in d][:_ROWS_SHOWN]
    return lines


def _record_ids(checks: list[CheckResult]) -> list[str]:
    ids: list[str] = []
    for check in checks:
        for discrepancy in check.discrepancies:
            ids += [i for i in discrepancy.get("record_ids", []) if i not in ids]
    return ids[:_IDS_SHOWN]


def certification_page(certification: Certification, run_url: str) -> str:
    """The text of the page sent when a run fails certification."""
    failed = certification.failed_checks
    lines = [f":rotating_light: *Revenue not certified: publishing halted.* Run `{certification.run_id}` of "
             f"`{certification.dag_id}`, as of {certification.as_of_date}, certification {certification.certification_id}.",
             "*Failed checks:*"]
    lines += [f"• *{check.check_name}*: {check.summary}" for check in failed]
    lines += _table(failed)
    ids = _record_ids(failed)
    if ids:
        lines.append(f"*First record ids:* {', '.join(ids)}")
    lines += [f"*Run:* {run_url}",
              "*Next:* read the certification record (certification.check_result, certification_id "
              f"{certification.certification_id}); fix the source records or add a classification override with a "
              "reason and an approver; then re-run. The figures already published are unchanged."]
    return "\n".join(lines)


def certified_notice(certification: Certification, run_url: str, months: int | None) -> str:
    """The notice of a certified run; `months` shown in viz, or None for a certify-only run."""
    published = (f"{months} month(s) of viz.mrr_bridge now show it" if months is not None
                 else "certify-only run: nothing was published")
    return (f":white_check_mark: Revenue certified: as of {certification.as_of_date}, certification "
            f"{certification.certification_id}; {published}. {run_url}")


def send_slack(conn_id: str, text: str) -> None:
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    SlackWebhookHook(slack_webhook_conn_id=conn_id).send(text=text)

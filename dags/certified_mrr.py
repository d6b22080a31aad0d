"""
### certified_mrr: certified MRR from Salesforce CPQ, twice a day

`migrate` brings the warehouse's schema up to date; `open_run` takes the
warehouse lease (a backfill or manual run beside this one waits) and opens the
run's certification record. `extract` reads Salesforce into `raw`, `stage`
merges it into `staging` with its audit, `observe_batch` measures the batch
against the batches before it (records changed and deleted per object, new
accounts, control sums) and **holds** the run there when a measure trips its
hold threshold, `transform` builds the methodology in `mart` (recomputing only
the customers whose inputs changed; every customer on a new as-of date, a full
extraction, or another reason its certification record names),
`identity_check` checks the movement identity, `observe_figures` measures each
business unit's ending MRR against what is published (it only warns), and
`certify` (the certification gate) runs checks 1-4 of the methodology's Part C
over every figure that would be published: the MRR bridge per business unit
and in total, cohort retention, and the customers, lines and contracts behind
them; and check 5, the shadow metrics, which only reports.

A hold pages once; nothing is transformed or published, and every run of this
DAG stops there until an operator triggers it with `release_hold` naming the
incident(s) the page names, or resolves them (`revcert incident resolve`).

Only certified figures reach `publish`, which writes them into `viz` in one
transaction. On any failure the gate pages Slack once and ends red, `publish`
skips itself, `close_run` fails the run, and what was published before stays
as it was. A backfill's runs send nothing of their own: the last of them to
end posts one summary of the backfill.

The as-of date is the `as_of` param, else the run's logical date in the
business timezone; a date later than today is refused.
"""
import pendulum
from airflow.sdk import CronTriggerTimetable, Param, chain, dag

from revcert.orchestration import dag_settings
from revcert.orchestration.as_of import NOT_FUTURE, register_not_future_format
from revcert.orchestration.certified_mrr import (
    certify,
    extract,
    identity_check,
    observe_batch,
    observe_figures,
    publish,
    stage,
    transform,
)
from revcert.orchestration.runs import close_run, migrate, open_run
from revcert.settings import Settings

BUSINESS_TIMEZONE = Settings().business_timezone
register_not_future_format(BUSINESS_TIMEZONE)


@dag(
    schedule=CronTriggerTimetable("0 6,18 * * *", timezone=BUSINESS_TIMEZONE),
    # The earliest as-of date a backfill may ask for (restating past years runs); with catchup
    # off, the scheduler itself only ever runs from now on.
    start_date=pendulum.datetime(2000, 1, 1, tz=BUSINESS_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=dag_settings.default_args(),
    tags=dag_settings.TAGS,
    doc_md=__doc__,
    params={
        "as_of": Param(None, type=["null", "string"], format="date", allOf=[{"format": NOT_FUTURE}],
                       title="As-of date",
                       description="Certify as of this date (YYYY-MM-DD), today or earlier. Empty: the run's "
                                   "logical date in the business timezone."),
        "full_extraction": Param(False, type="boolean", title="Full re-extraction",
                                 description="Ignore the watermarks, read every Salesforce object whole and "
                                             "recompute every customer."),
        "certify_only": Param(False, type="boolean", title="Certify only",
                              description="Run every check and record the certification, but publish nothing."),
        "restate": Param(False, type="boolean", title="Restate (operators)",
                         description="Replace every published month this run certifies, whatever its snapshot "
                                     "date, and withdraw published months after this run's as-of month. For "
                                     "undoing figures published by mistake; recorded in the certification."),
        "release_hold": Param([], type="array", items={"type": "integer"}, title="Release holds (operators)",
                              description="Incident ids a hold page names: this run transforms what they held and "
                                          "certifies as usual, and they are resolved as released. Empty: a hold "
                                          "stays."),
    },
)
def certified_mrr():
    chain(
        migrate(),
        open_run(),
        extract(),
        stage(),
        observe_batch(),
        transform(),
        identity_check(),
        observe_figures(),
        certify(),
        publish(),
        close_run(),
    )


certified_mrr()

"""
### certified_mrr: certified MRR from Salesforce CPQ, twice a day

`migrate` applies the warehouse migrations, opens this run's certification
record and takes the warehouse lease (a backfill or manual run beside it
waits). `extract` reads Salesforce into `raw`, `stage` merges it into
`staging` with its audit, `transform` builds the methodology in `mart`,
`identity_check` checks the movement identity, and `certify` (the
certification gate) runs checks 1-4 of the methodology's Part C.

Only certified figures reach `publish`, which writes `viz.mrr_bridge` in one
transaction. On any failure the gate pages Slack, `publish` is skipped,
`notify` fails the run, and what was published before stays as it was.

The as-of date is the run's logical date in the business timezone.
"""
import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag

from revcert.orchestration import dag_settings
from revcert.orchestration.certified_mrr import (
    certify,
    extract,
    identity_check,
    notify,
    open_run,
    publish,
    stage,
    transform,
)


@dag(
    schedule=CronTriggerTimetable("0 6,18 * * *", timezone=dag_settings.BUSINESS_TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=dag_settings.BUSINESS_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=dag_settings.default_args(),
    tags=dag_settings.TAGS,
    doc_md=__doc__,
    params={
        "as_of": Param(None, type=["null", "string"], format="date", title="As-of date",
                       description="Certify as of this date (YYYY-MM-DD). Empty: the run's logical date in the "
                                   "business timezone."),
        "full_extraction": Param(False, type="boolean", title="Full re-extraction",
                                 description="Ignore the watermarks and read every Salesforce object whole."),
        "certify_only": Param(False, type="boolean", title="Certify only",
                              description="Run every check and record the certification, but publish nothing."),
    },
)
def certified_mrr():
    certification_id = open_run()
    batch_id = stage(certification_id, extract.override(**dag_settings.extraction_retries())(certification_id))
    identity = identity_check(certification_id, transform(certification_id, batch_id))
    gate = certify()
    identity >> gate >> publish(certification_id) >> notify(certification_id)


certified_mrr()

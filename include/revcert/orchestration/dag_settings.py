"""What every DAG of this project shares: owner, tags, each task's retries and queue, links to runs.

Nothing here touches a database or looks up a connection: DAG files import it
at parse time.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from revcert.settings import Settings

OWNER = "revenue-data"
TAGS = ["revcert", "certified"]
# Each pipeline's DAG and the source its extraction batches come from.
SOURCE_OF = {"certified_mrr": "salesforce", "shop_daily_revenue": "shopify"}

# Each task's retries and why: a retry is safe only where a try leaves nothing a second try could double.
RETRY_POLICY: dict[str, tuple[int, str]] = {
    "migrate": (2, "migrations are idempotent and run under an advisory lock"),
    "open_run": (1, "taking the lease and opening the record are idempotent for the same run"),
    "select_shops": (1, "it only reads the Shopify connection"),
    "extract": (Settings().extract_retries, "transient source faults only; a data or configuration error fails "
                                            "at once (AirflowFailException), and each try writes a batch of its own"),
    "stage": (1, "staging is one transaction: a failed try leaves staging as it was"),
    "observe_batch": (1, "a try's observations replace an earlier try's; a hold fails at once (AirflowFailException) "
                         "and pages once: a try after it finds the record held and pages nothing"),
    "transform": (1, "a broken rule fails at once (AirflowFailException); a try lost with its worker or its "
                     "connection is taken again, and the mart is rebuilt whole in one transaction"),
    "identity_check": (1, "deterministic over the stored mart: a try lost with its worker is taken again"),
    "observe_figures": (1, "a try's observations replace an earlier try's; it only records and warns"),
    "certify": (0, "the gate records and pages once; a second try would page twice"),
    "publish": (1, "one transaction, refused unless the mart still hashes to the certified figures"),
    "close_run": (0, "it reports the run's outcome once"),
    "open_reconciliation_run": (1, "the sample is drawn from the run's seed: a second try draws the same one"),
    "reconcile_shop": (Settings().extract_retries, "transient source faults only; a shop's comparisons replace "
                                                   "what an earlier try recorded"),
    "summarize": (0, "it alerts once"),
    "repair": (1, "a repair run already triggered is not triggered twice (its run id is the discrepancy's)"),
    "finish": (0, "it reports the run's outcome once"),
}


# Tasks that wait on a source's network and rate limits; every other task works on the warehouse.
READS_A_SOURCE = ("extract", "reconcile_shop")


def task_args(task_id: str) -> dict[str, Any]:
    """A task's retries (RETRY_POLICY; reading a source backs off exponentially) and its Celery queue:
    source reads on the extraction queue, warehouse work on the warehouse queue, so a deployment sizes
    the two kinds of worker apart (the LocalExecutor ignores queues)."""
    count, _why = RETRY_POLICY[task_id]
    settings = Settings()
    if task_id in READS_A_SOURCE:
        return {"retries": count, "retry_exponential_backoff": True, "queue": settings.extraction_queue,
                "retry_delay": timedelta(seconds=settings.extract_retry_delay_seconds)}
    # A warehouse task that fails other than by a broken rule (a lost worker, a dropped connection, a
    # statement timeout) is taken again soon.
    return {"retries": count, "retry_delay": timedelta(seconds=10), "queue": settings.warehouse_queue}


def default_args() -> dict[str, Any]:
    return {"owner": OWNER, "retries": 0}


def airflow_base_url() -> str:
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="http://localhost:8080").rstrip("/")


def run_url(dag_id: str, run_id: str) -> str:
    """The run's page in the Airflow UI."""
    return f"{airflow_base_url()}/dags/{dag_id}/runs/{quote(run_id)}"

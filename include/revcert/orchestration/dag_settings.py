"""Settings every DAG of this project shares: owner, retries, failure notices, tags, connections.

Nothing here touches a database or looks up a connection: DAG files import it
at parse time.
"""
from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from revcert.settings import Settings

OWNER = "revenue-data"
TAGS = ["revcert", "certified"]
SALESFORCE_CONN_ID = os.environ.get("REVCERT_SALESFORCE_CONN_ID", "salesforce_default")
SLACK_CONN_ID = os.environ.get("REVCERT_SLACK_CONN_ID", "slack_oncall")
BUSINESS_TIMEZONE = Settings().business_timezone



def airflow_base_url() -> str:
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="http://localhost:8080").rstrip("/")


def failure_notice() -> str:
    """The templated text of a task failure notice, with a link to the run."""
    return (":x: Task `{{ ti.task_id }}` of `{{ dag.dag_id }}` failed (run `{{ run_id }}`, try {{ ti.try_number }}): "
            "{{ (exception | string)[:400] }}\nLog and run: " + airflow_base_url()
            + "/dags/{{ dag.dag_id }}/runs/{{ run_id | urlencode }}")


def task_failure_notifier() -> Any:
    """A Slack notice for any failed task (task-level: a DAG-level notifier crashes under dag.test in 3.3.2)."""
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

    return SlackWebhookNotifier(slack_webhook_conn_id=SLACK_CONN_ID, text=failure_notice())


def default_args() -> dict[str, Any]:
    return {
        "owner": OWNER,
        "retries": 1,
        "retry_delay": timedelta(minutes=2),
        "on_failure_callback": [task_failure_notifier()],
    }


def extraction_retries() -> dict[str, Any]:
    """Extraction retries with exponential backoff (a source glitch is worth another try)."""
    settings = Settings()
    return {"retries": settings.extract_task_retries, "retry_exponential_backoff": True,
            "retry_delay": timedelta(seconds=settings.extract_retry_delay_seconds)}


def run_url(dag_id: str, run_id: str) -> str:
    """The run's page in the Airflow UI."""
    from urllib.parse import quote

    return f"{airflow_base_url()}/dags/{dag_id}/runs/{quote(run_id)}"

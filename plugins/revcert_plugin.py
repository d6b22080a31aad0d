"""The certified-revenue page and API inside the Airflow UI.

A "Certified revenue" entry in the navigation opens the page (in Airflow's own
frame); the page and API v1 live under /revcert and require an Airflow login.
They read through the Airflow connection `revcert_viz`, a login that can read
the published figures (`viz`) and nothing else. Acknowledging and resolving an
incident writes through the warehouse connection, for operators only.
"""
from typing import Annotated

from airflow.api_fastapi.auth.managers.models.resource_details import AccessView, DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag, requires_access_view
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends

from revcert.notifications.accounts import salesforce_instance_url
from revcert.orchestration.as_of import register_not_future_format
from revcert.settings import Settings
from revcert.ui.app import URL_PREFIX, create_app
from revcert.warehouse.connection import dsn_from_airflow

# The trigger form's `as_of` is validated here, in the api-server, against today.
register_not_future_format(Settings().business_timezone)


def operator(user: GetUserDep,
             may_edit_runs: Annotated[None, Depends(requires_access_dag("PUT", DagAccessEntity.RUN))]) -> str:
    """Whoever may edit DAG runs (FAB: `can_edit` on DAG Runs, which Operators hold and Finance viewers do not)
    decides about incidents; their name is kept as who did."""
    return user.get_name()


certified_revenue = create_app(lambda: dsn_from_airflow(Settings().viz_conn_id),
                               auth=requires_access_view(AccessView.WEBSITE),
                               salesforce_org_url=lambda: salesforce_instance_url(Settings().salesforce_conn_id),
                               ledger_dsn=lambda: dsn_from_airflow(Settings().warehouse_conn_id),
                               operator=operator)


class CertifiedRevenuePlugin(AirflowPlugin):
    name = "certified_revenue"
    fastapi_apps = [{"app": certified_revenue, "url_prefix": URL_PREFIX, "name": "Certified revenue"}]
    external_views = [{"name": "Certified revenue", "href": f"{URL_PREFIX[1:]}/", "url_route": "certified-revenue",
                       "destination": "nav", "icon": f"{URL_PREFIX[1:]}/static/icon.svg"}]

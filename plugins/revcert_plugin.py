"""The certified-revenue page and API inside the Airflow UI.

A "Certified revenue" entry in the navigation opens the page (in Airflow's own
frame); the page and API v1 live under /revcert and require an Airflow login.
"""
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import requires_access_view
from airflow.plugins_manager import AirflowPlugin

from revcert.ui.app import create_app
from revcert.warehouse.database import airflow_warehouse_url

certified_revenue = create_app(airflow_warehouse_url, auth=requires_access_view(AccessView.WEBSITE))


class CertifiedRevenuePlugin(AirflowPlugin):
    name = "certified_revenue"
    fastapi_apps = [{"app": certified_revenue, "url_prefix": "/revcert", "name": "Certified revenue"}]
    external_views = [{"name": "Certified revenue", "href": "revcert/", "url_route": "certified-revenue",
                       "destination": "nav", "icon": "revcert/static/icon.svg"}]

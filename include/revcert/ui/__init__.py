"""The certified-revenue page and API (mounted in Airflow by plugins/revcert_plugin.py)."""

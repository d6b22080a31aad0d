"""This project's Airflow plugin, shipped inside the package as `revcert.plugins`."""

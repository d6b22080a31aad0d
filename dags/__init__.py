"""This project's Airflow DAG files (wiring only), shipped inside the package as `revcert.dags`."""

"""Development tooling: the DAGs run in-process (`revcert run`), a whole local Airflow (`revcert ui`), and
an extraction outside Airflow for tests and the benchmark. Production code never imports this package."""

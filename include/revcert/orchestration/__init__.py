"""Orchestration: what the DAGs in dags/ run, one importable task at a time."""

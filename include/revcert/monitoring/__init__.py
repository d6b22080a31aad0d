"""Monitoring that learns: each run's batch and figures measured against their history, and the incident ledger."""

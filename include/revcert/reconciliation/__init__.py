"""Reconciliation (METHODOLOGY.md B5): published figures against the live source, every comparison kept."""

"""Certification (METHODOLOGY.md Part C): independent derivation, comparisons, the gate."""

"""The revenue methodology (METHODOLOGY.md Part A), computed in the mart by the SQL models."""

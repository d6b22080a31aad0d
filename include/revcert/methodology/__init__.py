"""The revenue methodology (METHODOLOGY.md Parts A and B), computed in the mart by the SQL models."""

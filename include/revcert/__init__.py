"""Certified revenue pipelines: extract, stage, apply the methodology, certify, publish."""

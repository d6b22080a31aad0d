"""The analytics layer: metrics computed from the published, certified figures only."""

"""Reviewed override files, shipped inside the package as `revcert.overrides`."""

"""Staging: typed current state of every source record, merged batch by batch."""

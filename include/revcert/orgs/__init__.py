"""Org snapshots: the directory format, and a generator of realistic CPQ orgs."""

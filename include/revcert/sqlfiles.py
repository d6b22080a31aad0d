"""SQL lives in `sql/<folder>/<name>.sql` and is loaded by name, never assembled from strings.

The folder ships inside the package (`revcert.sql`), so an installed wheel reads
the same files as a checkout.
"""
from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def load_sql(folder: str, name: str) -> str:
    """The text of `sql/<folder>/<name>.sql` (folder may hold a slash: `mart/checks`)."""
    return files("revcert.sql").joinpath(folder, f"{name}.sql").read_text(encoding="utf-8")

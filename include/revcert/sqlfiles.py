"""SQL lives in `sql/<layer>/<model>.sql` and is loaded by path, never assembled from strings."""
from __future__ import annotations

from functools import lru_cache

from revcert.settings import Settings


@lru_cache(maxsize=None)
def load_sql(layer: str, name: str) -> str:
    path = Settings().sql_dir / layer / f"{name}.sql"
    return path.read_text(encoding="utf-8")

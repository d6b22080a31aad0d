"""The org snapshot directory: one `<ObjectApiName>.jsonl` per object.

Each line is one record as the REST API returns it (API field names, dates
`YYYY-MM-DD`, datetimes ISO 8601, an `attributes` object). Numbers are read as
Decimal and written back with their exact digits.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from revcert.money import dumps_exact, loads_exact

Record = dict[str, Any]


class SnapshotError(ValueError):
    """A snapshot file that cannot be read, naming the file and line."""


def object_file(directory: Path, object_name: str) -> Path:
    return Path(directory) / f"{object_name}.jsonl"


def read_records(directory: Path, object_name: str) -> Iterator[Record]:
    """Records of one object, in file order; a missing file is an object with no records."""
    path = object_file(directory, object_name)
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = loads_exact(line)
            except ValueError as error:
                raise SnapshotError(f"{path}:{number}: not a JSON record ({error})") from error
            if not isinstance(record, dict):
                raise SnapshotError(f"{path}:{number}: a record must be a JSON object")
            yield record


def object_names(directory: Path) -> list[str]:
    return sorted(p.stem for p in Path(directory).glob("*.jsonl"))


class SnapshotWriter:
    """Appends records object by object, streaming to disk (for orgs larger than memory)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    def write(self, object_name: str, record: Record) -> None:
        handle = self._files.get(object_name)
        if handle is None:
            handle = self._files[object_name] = object_file(self.directory, object_name).open("w", encoding="utf-8")
        handle.write(dumps_exact(record) + "\n")
        self.counts[object_name] = self.counts.get(object_name, 0) + 1

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""The reviewed files (classification overrides, shop settings): CSV changed through review like code.

Each has a fixed header and a reason and an approver on every row; lines starting
with `#` are comments; errors name the file's own line numbers.
"""
from __future__ import annotations

import csv
from importlib.abc import Traversable
from importlib.resources import files
from pathlib import Path


def reviewed_file(name: str, path: Path | None = None) -> Traversable | Path:
    """`path`, or the file of that name shipped with the package (include/overrides/)."""
    return files("revcert.overrides").joinpath(name) if path is None else Path(path)


def reviewed_rows(source: Traversable | Path, columns: tuple[str, ...],
                  error: type[ValueError]) -> list[tuple[int, dict[str, str]]]:
    """Each row as (its line number in the file, its values stripped), after checking the header.

    Raises:
        error: The header is not exactly `columns`.
    """
    with source.open(newline="", encoding="utf-8") as handle:
        numbered = [(number, line) for number, line in enumerate(handle, start=1) if not line.startswith("#")]
    reader = csv.DictReader(line for _, line in numbered)
    if tuple(reader.fieldnames or ()) != columns:
        raise error(f"{source}: the header must be {','.join(columns)}")
    # The reader's line_num counts the lines it read, comments excluded: map it back to the file.
    return [(numbered[reader.line_num - 1][0], {column: (row.get(column) or "").strip() for column in columns})
            for row in reader]


def empty_columns(values: dict[str, str]) -> list[str]:
    return [column for column, value in values.items() if not value]


def refuse_problems(source: Traversable | Path, problems: list[str], error: type[ValueError]) -> None:
    """Raise `error` listing every problem of the file, if there is any."""
    if problems:
        raise error(f"{source}:\n  " + "\n  ".join(problems))

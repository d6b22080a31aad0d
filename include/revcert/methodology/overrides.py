"""Classification overrides: a reviewed file, one row per contract.

Finance adds a row when the rules cannot classify a chain (a renewal cycle, or a
contract whose predecessors belong to different customers): which customer the
contract belongs to, why, and who approved it. Every override a run uses is
listed in its certification record. The file ships with the package
(`include/overrides/classification_overrides.csv`); `REVCERT_OVERRIDES_FILE`
points elsewhere.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

COLUMNS = ("contract_id", "customer_account_id", "reason", "approver")


class OverrideFileError(ValueError):
    """The overrides file breaks its format; the message names the lines."""


@dataclass(frozen=True)
class ClassificationOverride:
    contract_id: str
    customer_account_id: str
    reason: str
    approver: str


def read_overrides(path: Path | None = None) -> list[ClassificationOverride]:
    """Read and check the overrides file: every column filled, one row per contract.

    Lines starting with `#` are comments; errors name the file's own line numbers.
    """
    source = files("revcert.overrides").joinpath("classification_overrides.csv") if path is None else Path(path)
    with source.open(newline="", encoding="utf-8") as handle:
        numbered = [(number, line) for number, line in enumerate(handle, start=1) if not line.startswith("#")]
    reader = csv.DictReader(line for _, line in numbered)
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise OverrideFileError(f"{source}: the header must be {','.join(COLUMNS)}")
    problems, seen, overrides = [], set(), []
    for row in reader:
        # The reader's line_num counts the lines it read, comments excluded: map it back to the file.
        number = numbered[reader.line_num - 1][0]
        values = {column: (row.get(column) or "").strip() for column in COLUMNS}
        empty = [column for column, value in values.items() if not value]
        if empty:
            problems.append(f"line {number}: {', '.join(empty)} must not be empty (every override needs a reason "
                            "and an approver)")
        elif values["contract_id"] in seen:
            problems.append(f"line {number}: contract {values['contract_id']} is overridden twice")
        else:
            seen.add(values["contract_id"])
            overrides.append(ClassificationOverride(**values))
    if problems:
        raise OverrideFileError(f"{source}:\n  " + "\n  ".join(problems))
    return overrides

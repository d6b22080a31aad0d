"""Classification overrides: a versioned file in the repository, one row per contract.

Finance adds a row when the rules cannot classify a chain (a renewal cycle, or a
contract whose predecessors belong to different customers): which customer the
contract belongs to, why, and who approved it. Every override a run uses is
listed in its certification record.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from revcert.settings import PROJECT_ROOT

COLUMNS = ("contract_id", "customer_account_id", "reason", "approver")
DEFAULT_FILE = PROJECT_ROOT / "include" / "overrides" / "classification_overrides.csv"


class OverrideFileError(ValueError):
    """The overrides file breaks its format; the message names the lines."""


@dataclass(frozen=True)
class ClassificationOverride:
    contract_id: str
    customer_account_id: str
    reason: str
    approver: str


def overrides_file() -> Path:
    return Path(os.environ.get("REVCERT_OVERRIDES_FILE", DEFAULT_FILE))


def read_overrides(path: Path | None = None) -> list[ClassificationOverride]:
    """Read and check the overrides file: every column filled, one row per contract."""
    path = path or overrides_file()
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(line for line in handle if not line.startswith("#"))
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise OverrideFileError(f"{path}: the header must be {','.join(COLUMNS)}")
        rows = list(reader)
    problems, seen, overrides = [], set(), []
    for number, row in enumerate(rows, start=2):
        values = {column: (row.get(column) or "").strip() for column in COLUMNS}
        empty = [column for column, value in values.items() if not value]
        if empty:
            problems.append(f"row {number}: {', '.join(empty)} must not be empty (every override needs a reason "
                            "and an approver)")
        elif values["contract_id"] in seen:
            problems.append(f"row {number}: contract {values['contract_id']} is overridden twice")
        else:
            seen.add(values["contract_id"])
            overrides.append(ClassificationOverride(**values))
    if problems:
        raise OverrideFileError(f"{path}:\n  " + "\n  ".join(problems))
    return overrides

"""Classification overrides: a reviewed file, one row per contract.

Finance adds a row when the rules cannot classify a chain (a renewal cycle, or a
contract whose predecessors belong to different customers): which customer the
contract belongs to, why, and who approved it. Every override a run uses is
listed in its certification record. The file ships with the package
(`include/overrides/classification_overrides.csv`); `REVCERT_OVERRIDES_FILE`
points elsewhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from revcert.methodology.reviewed_files import empty_columns, refuse_problems, reviewed_file, reviewed_rows

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
    source = reviewed_file("classification_overrides.csv", path)
    problems, seen, overrides = [], set(), []
    for number, values in reviewed_rows(source, COLUMNS, OverrideFileError):
        empty = empty_columns(values)
        if empty:
            problems.append(f"line {number}: {', '.join(empty)} must not be empty (every override needs a reason "
                            "and an approver)")
        elif values["contract_id"] in seen:
            problems.append(f"line {number}: contract {values['contract_id']} is overridden twice")
        else:
            seen.add(values["contract_id"])
            overrides.append(ClassificationOverride(**values))
    refuse_problems(source, problems, OverrideFileError)
    return overrides

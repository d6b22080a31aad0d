"""The classification overrides file: reviewed like code, refused with the file's own line numbers."""
from __future__ import annotations

from pathlib import Path

import pytest

from revcert.methodology.overrides import OverrideFileError, read_overrides


def test_overrides_file_needs_a_reason_and_an_approver(tmp_path: Path):
    path = tmp_path / "overrides.csv"
    path.write_text("# comment\ncontract_id,customer_account_id,reason,approver\n800A,001A,,Controller\n"
                    "800B,001B,Merger,CFO\n800B,001C,Again,CFO\n")
    with pytest.raises(OverrideFileError) as error:
        read_overrides(path)
    # Line numbers are the file's own, comment lines counted.
    assert "line 3: reason must not be empty" in str(error.value)
    assert "line 5: contract 800B is overridden twice" in str(error.value)


def test_the_repository_overrides_file_reads():
    assert all(o.reason and o.approver for o in read_overrides())

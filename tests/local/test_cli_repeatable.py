"""`revcert run` is repeatable: the same command any number of times, and then with another org
(issue 9, defects 1 and 4). Its own module, so that its minutes run beside the other CLI tests."""
from __future__ import annotations

from datetime import date

import pytest

from revcert.cli import main
from tests.local.test_cli import certifications, run

pytestmark = pytest.mark.integration


@pytest.mark.timeout(1200)  # six certified runs, each a process of its own; slow machines need room
def test_the_same_command_runs_five_times_in_a_row_and_with_another_org(warehouse_url, small_org, tmp_path, capsys):
    """Every invocation is a run of its own, in the same local Airflow home; on a fresh warehouse, an as-of
    date years before the DAG's first scheduled run runs every task and certifies."""
    for _ in range(5):
        assert run(small_org, warehouse_url, as_of="2024-12-31") == 0
    assert {(r[2], r[3]) for r in certifications(warehouse_url)} == {(date(2024, 12, 31), "certified")}
    other = tmp_path / "other-org"
    assert main(["generate-org", "--out", str(other), "--accounts", "40", "--seed", "7"]) == 0
    # Another org into the same warehouse replaces what staging holds: a full extraction.
    assert run(other, warehouse_url, "--full") == 0
    records = certifications(warehouse_url)
    assert len(records) == 6 and len({r[1] for r in records}) == 6
    assert all(status == "certified" and published for _, _, _, status, published in records)

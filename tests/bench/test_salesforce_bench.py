"""`revcert bench --pipeline salesforce` at a tiny size: every yardstick and every goal of issue 16 printed."""
from __future__ import annotations

import re

import pytest

from revcert.cli import main
from revcert.methodology.mart import MODELS

pytestmark = pytest.mark.integration

GOALS = {"full certified recompute (Bulk 2.0, one run)": "<= 120 s", "independent derivation: time": "<= 40 s",
         "independent derivation: peak memory": "<= 1,024 MiB", "extraction via Bulk 2.0": ">= 30,000 records/s",
         "extraction via REST": ">= 15,000 records/s", "mart / mrr-playbook peer": "<= 0.5",
         "mart / floor (COPY + one grouped scan)": "<= 5"}
MEDIANS = ("mart", "mrr-playbook peer", "floor: COPY + one grouped scan", "movement identity",
           "independent derivation")


def test_the_bench_prints_the_yardsticks_medians_and_every_goal(capsys):
    assert main(["bench", "--pipeline", "salesforce", "--lines", "2000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    steps = {line[2:36].strip(): number for number, line in enumerate(lines) if re.match(r"  \S", line)}
    for step in MEDIANS:
        assert "(median of 3 runs: " in lines[steps[step]]
    for api in ("rest", "bulk2"):
        assert re.search(r"records/s  \(a client that discards the pages; serving is \d+% of the extraction",
                         lines[steps[f"stand-in alone, {api} pages"]])
    parts = [line.split() for line in lines[steps["mart"] + 1:steps["mrr-playbook peer"]]]
    assert {part[0] for part in parts} == set(MODELS)
    assert [float(part[1]) for part in parts] == sorted((float(part[1]) for part in parts), reverse=True)
    assert "  goals (set for 1,000,000 lines; this run has 2,000)" in lines
    printed = {line.split("  ")[2]: line for line in lines if line.startswith("    ") and " goal " in line}
    assert set(printed) == set(GOALS)
    for figure, goal in GOALS.items():
        assert re.search(rf" goal {re.escape(goal)} +(met|not met)$", printed[figure])

"""`revcert bench --pipeline salesforce` at a tiny size: every yardstick and every goal of issue 16 printed, the
incremental run after 1% of the org changed recomputes some customers, not all, and the next day's first run
rebuilds every customer's as-of month."""
from __future__ import annotations

import re

import pytest

from revcert.cli import main
from revcert.methodology.mart import MODELS

pytestmark = pytest.mark.integration

GOALS = {"full certified recompute (Bulk 2.0, one run)": "<= 120 s",
         "incremental run / full run (1% changed)": "<= 10%", "independent derivation: time": "<= 40 s",
         "independent derivation: peak memory": "<= 1,024 MiB", "extraction via Bulk 2.0": ">= 30,000 records/s",
         "extraction via REST": ">= 15,000 records/s", "mart / mrr-playbook peer": "<= 0.5",
         "mart / floor (COPY + one grouped scan)": "<= 5"}
MEDIANS = ("mart", "mrr-playbook peer", "floor: COPY + one grouped scan", "movement identity",
           "independent derivation")
RUN_PARTS = {"transform (mart)", "identity check", "certify", "publish"}
RECOMPUTED = re.compile(r"\(mart recomputed ([\d,]+) of ([\d,]+) lines and ([\d,]+) of ([\d,]+) customers, "
                        r"(whole: .+|incremental(?:, every customer's \d{4}-\d{2} rebuilt)?), "
                        r"writing ([\d,]+) MiB of write-ahead log; "
                        r"check 4 compared ([\d,]+) customers' detail; "
                        r"publishing compared (every customer's|[\d,]+ customers') detail; "
                        r"its forked copies held at most [\d,]+ MiB of their own; "
                        r"the mart's slowest models: ((?:mart_\w+ [\d.]+ s, ){3}mart_\w+ [\d.]+ s)\)$")
CHANGED = re.compile(r"^  ([\d,]+) of the org's ([\d,]+) records changed at the source \([\d.]+%\): "
                     r"(\d+) line edits, (\d+) amendments, (\d+) renewals, (\d+) line deletions, "
                     r"one account's business unit, one dated conversion rate$")


def number(text: str) -> int:
    return int(text.replace(",", ""))


def customers_recomputed(line: str) -> tuple[int, int, str, int, int | None]:
    """The customers the mart recomputed, of how many, how, how many check 4 compared and how many publishing
    compared (None: every customer)."""
    _, _, recomputed, customers, how, _, compared, republished, _ = RECOMPUTED.search(line).groups()
    return (number(recomputed), number(customers), how, number(compared),
            None if republished == "every customer's" else number(republished.split()[0]))


def lines_recomputed(line: str) -> tuple[int, int]:
    """The lines the mart recomputed, of how many."""
    return tuple(number(count) for count in RECOMPUTED.search(line).groups()[:2])


def write_ahead_log_mib(line: str) -> int:
    """The write-ahead log a run's mart build wrote, in MiB."""
    return number(RECOMPUTED.search(line).group(6))


def seconds(line: str) -> float:
    return float(re.search(r" ([\d.]+) s ", line).group(1))


def records(line: str) -> int:
    return int(re.search(r" (\d+) records ", line).group(1))


def test_the_bench_prints_the_yardsticks_medians_and_every_goal(capsys):
    assert main(["bench", "--pipeline", "salesforce", "--lines", "2000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    steps = {line[2:36].strip(): number for number, line in enumerate(lines) if re.match(r"  \S", line)}
    for step in MEDIANS:
        assert "(median of 3 runs: " in lines[steps[step]]
    # The derivation as certification runs it by default, in one process; then split between two, which 2,000
    # lines are too few for: no forked copy held anything.
    assert re.search(r"; derived in at most 1 process, its forked copies held at most 0 MiB of their own\)$",
                     lines[steps["independent derivation"]])
    assert re.search(r"\(median of 3 runs: .+; derived in at most 2 processes, its forked copies held at most 0 MiB "
                     r"of their own\)$", lines[steps["derivation in 2 processes"]])
    for api in ("rest", "bulk2"):
        assert re.search(r"records/s  \(a client that discards the pages; serving is \d+% of the extraction",
                         lines[steps[f"stand-in alone, {api} pages"]])
    parts = [line.split() for line in lines[steps["mart"] + 1:steps["mrr-playbook peer"]]]
    assert {part[0] for part in parts} == set(MODELS)
    assert [float(part[1]) for part in parts] == sorted((float(part[1]) for part in parts), reverse=True)
    full_run, incremental_run = steps["transform, certify and publish"], steps["incremental: transform to publish"]
    for run in (full_run, incremental_run):
        assert {line[4:36].strip() for line in lines[run + 1:run + 1 + len(RUN_PARTS)]} == RUN_PARTS
    recomputed, customers, how, every_compared, republished = customers_recomputed(lines[full_run])
    assert recomputed == customers >= every_compared > 0 and how.startswith("whole: ") and republished is None
    recomputed_lines, all_lines = lines_recomputed(lines[full_run])
    assert recomputed_lines == all_lines > 2000
    # The later run: check 4 compares only the detail of the customers without a proof that holds, and
    # publishing only those whose certified detail is not the one published (those the mart recomputed at most,
    # a customer whose detail is gone among them).
    recomputed, all_customers, how, compared, republished = customers_recomputed(lines[incremental_run])
    assert 0 < recomputed < all_customers == customers and how == "incremental"
    recomputed_lines, later_lines = lines_recomputed(lines[incremental_run])
    assert 0 < recomputed_lines < later_lines / 5
    assert 0 < compared < every_compared and 0 < republished <= recomputed
    slowest = [model.rsplit(" ", 2) for model in RECOMPUTED.search(lines[incremental_run]).group(9).split(", ")]
    assert {name for name, _, _ in slowest} <= set(MODELS)
    assert [float(taken) for _, taken, _ in slowest] == sorted((float(taken) for _, taken, _ in slowest), reverse=True)
    # The next day's first run (a Sunday after the bench's Saturday): the as-of date moved on within its week, so
    # nothing is recomputed whole but every customer's November is rebuilt, and check 4 compares every customer.
    next_day = steps["next day: transform to publish"]
    assert {line[4:36].strip() for line in lines[next_day + 1:next_day + 1 + len(RUN_PARTS)]} == RUN_PARTS
    recomputed, all_customers, how, compared, _ = customers_recomputed(lines[next_day])
    assert recomputed == 0 and all_customers == customers and how == "incremental, every customer's 2026-11 rebuilt"
    assert lines_recomputed(lines[next_day]) == (0, later_lines)
    assert compared >= every_compared
    assert any(re.fullmatch(r"  next day's first run .+ = [\d.]+ s, [\d.]+% of the full run", line) for line in lines)
    # The MRR mart is unlogged: the whole build writes less than a MiB of write-ahead log, the later ones at most
    # one (the server's, counted whole: statistics and catalogue too). Logged, these three wrote 7, 2 and 2.
    assert write_ahead_log_mib(lines[full_run]) == 0
    assert write_ahead_log_mib(lines[incremental_run]) <= 1 and write_ahead_log_mib(lines[next_day]) <= 1
    changed, org_records, *kinds = next(filter(None, map(CHANGED.match, lines))).groups()
    assert number(org_records) // 100 <= number(changed) < number(org_records) // 50
    assert all(int(count) > 0 for count in kinds)
    assert number(changed) <= records(lines[steps["incremental: extract (DAG's API)"]]) < records(
        lines[steps["extract via bulk2"]])
    # Each scheduled run's extraction says how much of it was the stand-in selecting records: part of it, not all.
    for run in ("incremental", "next day"):
        line = lines[steps[f"{run}: extract (DAG's API)"]]
        selecting = re.search(r"\(of which the stand-in selecting the records asked for \(a scan of every record per "
                              r"query\): ([\d.]+) s\)$", line)
        assert selecting and float(selecting.group(1)) < seconds(line)
    assert "  goals (set for 1,000,000 lines; this run has 2,000)" in lines
    printed = {line.split("  ")[2]: line for line in lines if line.startswith("    ") and " goal " in line}
    assert set(printed) == set(GOALS)
    for figure, goal in GOALS.items():
        assert re.search(rf" goal {re.escape(goal)} +(met|not met)$", printed[figure])

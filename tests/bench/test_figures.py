"""How the bench sets repeated runs and goals down: medians, the worst memory, and every miss named."""
from __future__ import annotations

import time

from revcert.bench.figures import ForkedCopiesMemory, Goal, StepFigures, format_figures, median_of_runs
from revcert.certification.forked import forked

MIB = 1 << 20


def written(mib: int) -> bytearray:
    """`mib` MiB in memory: a byte written on every page."""
    pages = bytearray(mib * MIB)
    pages[::4096] = b"x" * (mib * MIB // 4096)
    return pages


def test_repeated_runs_give_the_median_time_of_the_step_and_of_each_part_and_the_highest_peak():
    runs = [StepFigures("mart", seconds, peak, 10, parts={"mart_a": a, "mart_b": b})
            for seconds, peak, a, b in ((9.0, 60, 1.0, 8.0), (3.0, 80, 2.0, 1.0), (5.0, 70, 3.0, 2.0))]
    figures = median_of_runs(runs)
    assert (figures.seconds, figures.peak_mib, figures.parts, figures.runs) == (
        5.0, 80, {"mart_a": 2.0, "mart_b": 2.0}, (9.0, 3.0, 5.0))
    printed = format_figures("t", [figures]).splitlines()
    assert "(median of 3 runs: 9.0, 3.0, 5.0 s)" in printed[1]
    assert [line.split()[0] for line in printed[2:]] == ["mart_a", "mart_b"]


def test_every_goal_prints_beside_its_figure_met_or_not_met():
    goals = [Goal("mart / peer", 0.62, 0.5), Goal("mart / floor", 4.2, 5),
             Goal("extraction via REST", 14_999, 15_000, "records/s", at_most=False),
             Goal("derivation peak", 1024, 1024, "MiB"), Goal("incremental / full", 10.04, 10, "%")]
    printed = format_figures("t", [], goals=goals).splitlines()[2:]
    assert [line.split("goal ")[1].split() for line in printed] == [
        ["<=", "0.5", "not", "met"], ["<=", "5", "met"], [">=", "15,000", "records/s", "not", "met"],
        ["<=", "1,024", "MiB", "met"], ["<=", "10%", "not", "met"]]
    assert "0.62" in printed[0] and "14,999 records/s" in printed[2] and "10.0%" in printed[4]


def test_the_memory_a_forked_copy_holds_of_its_own_is_counted_and_the_pages_it_shares_are_not():
    shared = written(96)  # before the fork: the copy shares these pages and only reads them

    def work() -> int:
        own = written(48)  # in the copy: its own
        time.sleep(0.8)
        return len(own) + shared[0]

    with ForkedCopiesMemory() as copies, forked(work, "a copy") as result:
        assert result() == 48 * MIB + ord("x")
    assert 44 <= copies.peak_mib < 90
    assert str(copies) == f"its forked copies held at most {copies.peak_mib:,.0f} MiB of their own"

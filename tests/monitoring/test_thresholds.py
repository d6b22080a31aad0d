"""The reviewed thresholds file: a row replaces a metric's defaults, with its reason and approver; every problem
is named by its own line; after transform monitoring only warns."""
from __future__ import annotations

import pytest

from revcert.monitoring.thresholds import METRICS, Thresholds, ThresholdsFileError, read_thresholds

HEADER = "metric,warn_score,hold_score,min_history,min_scale,direction,reason,approver\n"


def test_the_shipped_file_gives_the_defaults_and_only_deletions_hold():
    thresholds = read_thresholds()
    assert thresholds == {name: metric.defaults for name, metric in METRICS.items()}
    assert [name for name, t in thresholds.items() if t.hold_score is not None] == ["deleted_share"]
    assert thresholds["deleted_share"] == Thresholds(warn_score=4, hold_score=8, min_history=5, min_scale=0.01,
                                                     direction="up")


def test_a_row_replaces_one_metrics_thresholds_and_says_who_approved_it(tmp_path):
    path = tmp_path / "thresholds.csv"
    path.write_text("# reviewed\n" + HEADER + "records_changed,5,12,10,50,both,quarter-end batches are large,"
                    "A. Controller\n")
    thresholds = read_thresholds(path)
    assert thresholds["records_changed"] == Thresholds(5, 12, 10, 50, "both",
                                                      "quarter-end batches are large (approved by A. Controller)")
    assert thresholds["deleted_share"] == METRICS["deleted_share"].defaults


def test_every_problem_is_named_by_its_own_line_number(tmp_path):
    path = tmp_path / "thresholds.csv"
    path.write_text("# reviewed\n" + HEADER + "# a comment between rows\n"
                    "deleted_share,4,8,5,0.01,up,why,\n"
                    "row_count,4,,5,1,up,why,who\n"
                    "deleted_share,4,2,5,0.01,up,why,who\n"
                    "ending_mrr_change,4,8,5,0.02,both,why,who\n"
                    "new_accounts,four,,0,5,sideways,why,who\n"
                    "live_records_change,4,,5,0.01,both,why,who\n"
                    "live_records_change,4,,5,0.01,both,why,who\n")
    with pytest.raises(ThresholdsFileError) as error:
        read_thresholds(path)
    assert str(error.value).splitlines()[1:] == [
        "  line 4: approver must not be empty (every row needs a reason and an approver)",
        f"  line 5: unknown metric 'row_count' (known: {', '.join(METRICS)})",
        "  line 6: hold_score 2 is below warn_score 4",
        "  line 7: ending_mrr_change is observed after transform, where monitoring only warns: leave hold_score empty",
        "  line 8: warn_score must be a number, not 'four'",
        "  line 8: min_history must be above zero, not '0'",
        "  line 8: direction must be one of up, down, both, not 'sideways'",
        "  line 10: metric live_records_change is set twice"]


def test_a_wrong_header_is_refused(tmp_path):
    path = tmp_path / "thresholds.csv"
    path.write_text("metric,warn,hold\ndeleted_share,4,8\n")
    with pytest.raises(ThresholdsFileError, match="the header must be metric,warn_score,hold_score"):
        read_thresholds(path)

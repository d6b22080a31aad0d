"""The independent derivation split between processes gives what it gives in one: the same figures, the same
detail handed over in the same order, the same refusal of bad records."""
from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from revcert.certification import independent_derivation
from revcert.certification.forked import forked
from revcert.certification.independent_derivation import DerivationError, customer_parts, derive_figures
from revcert.settings import Settings
from tests.certification.test_customer_detail import FOUR_CUSTOMERS_AS_OF, four_customers
from tests.methodology.golden_cases import CASES, as_of_date

GRACE = Settings().renewal_grace_days


def test_customers_are_split_into_runs_of_consecutive_ids_with_about_as_many_lines_each(monkeypatch):
    monkeypatch.setattr(independent_derivation, "LINES_PER_PROCESS", 3)
    lines_of = {"c": [1, 2, 3, 4, 5, 6], "a": [1], "b": [1, 2], "d": [1, 2, 3]}
    # A customer goes where the middle of its lines falls: c's (line 6 of 12) is where the second half begins.
    assert customer_parts(lines_of, 2) == [["a", "b"], ["c", "d"]]
    assert customer_parts(lines_of, 3) == [["a", "b"], ["c"], ["d"]]
    # 12 lines are enough for 4 processes of 3, not for 5; c's middle falls in the third run, and the second,
    # left empty, is no process. One process never splits.
    assert customer_parts(lines_of, 5) == [["a", "b"], ["c"], ["d"]]
    assert customer_parts(lines_of, 1) == [["a", "b", "c", "d"]]
    monkeypatch.setattr(independent_derivation, "LINES_PER_PROCESS", 7)
    assert customer_parts(lines_of, 2) == [["a", "b", "c", "d"]]
    assert customer_parts({}, 2) == [[]]


def customers_the_last_of_which_came_first():
    """Four customers of January 2026, and after them in code point order one since June 2025: the last part
    knows months the first does not."""
    org = four_customers()
    org.line(org.contract(org.account("Account 001c", "EMEA", account_id="001c"), "2025-06-01", "2026-05-31"),
             "600.00")
    return org


def handed_over(org, processes: int) -> tuple:
    seen: list = []
    figures = derive_figures(org, FOUR_CUSTOMERS_AS_OF, GRACE, (), seen.append,
                             summarise=lambda detail: (os.getpid(), detail), processes=processes)
    return figures, [pid for pid, _ in seen], [detail for _, detail in seen]


@pytest.mark.parametrize("processes", [2, 3, 4])
def test_customers_derived_in_forked_copies_are_handed_over_as_one_process_hands_them_over(monkeypatch, processes):
    monkeypatch.setattr(independent_derivation, "LINES_PER_PROCESS", 1)
    org = customers_the_last_of_which_came_first().staged_org()
    alone, pids, details = handed_over(org, 1)
    assert set(pids) == {os.getpid()}
    split, pids, split_details = handed_over(org, processes)
    # Each part in its own process, this one's first; every customer once, in code point order, rows equal.
    assert len(set(pids)) == processes and pids[0] == os.getpid()
    assert [d.customer_id for d in split_details] == ["001A", "001B", "001a", "001b", "001c"]
    assert split_details == details
    assert split == alone


def customers_of(case) -> list[str]:
    handed: list[str] = []
    derive_figures(case.org.staged_org(), as_of_date(case), GRACE, (), handed.append,
                   summarise=lambda detail: detail.customer_id)
    return handed


@pytest.mark.parametrize("make_case", [c for c in CASES if not c().error_rule and len(customers_of(c())) > 1],
                         ids=lambda make: make.__name__)
def test_every_golden_case_of_several_customers_gives_the_same_figures_in_two_processes(monkeypatch, make_case):
    monkeypatch.setattr(independent_derivation, "LINES_PER_PROCESS", 1)
    case = make_case()
    alone = derive_figures(case.org.staged_org(), as_of_date(case), GRACE)
    pids: list[int] = []
    split = derive_figures(case.org.staged_org(), as_of_date(case), GRACE, (), pids.append,
                           summarise=lambda detail: os.getpid(), processes=2)
    assert len(set(pids)) == 2 and split == alone


@pytest.mark.parametrize("missing", ["001A", "001b"], ids=["in this process's part", "in a forked part"])
def test_a_customer_the_rules_refuse_is_named_whichever_process_derives_it(monkeypatch, missing):
    monkeypatch.setattr(independent_derivation, "LINES_PER_PROCESS", 1)
    org = four_customers().staged_org()
    del org.accounts[missing]
    for processes in (1, 2):
        with pytest.raises(DerivationError, match=f"contract_without_account: customer account {missing}$") as error:
            derive_figures(org, FOUR_CUSTOMERS_AS_OF, GRACE, processes=processes)
        # Raised here, with where the copy met it when a copy did.
        in_the_copy = [note for note in getattr(error.value, "__notes__", []) if "in the forked copy:" in note]
        assert len(in_the_copy) == (processes == 2 and missing == "001b")
        assert all("customer_months" in note or "sums" in note for note in in_the_copy)


def test_a_forked_copy_that_dies_without_its_result_is_an_error_not_an_empty_part():
    with forked(lambda: os._exit(3), "a part") as result, pytest.raises(RuntimeError,
                                                                         match="a part ended without a result "
                                                                               r"\(exit code 3\)"):
        result()


def test_a_daemonic_process_which_multiprocessing_allows_no_children_derives_every_customer_itself(monkeypatch):
    monkeypatch.setattr(independent_derivation, "LINES_PER_PROCESS", 1)
    context = multiprocessing.get_context("fork")
    answers = context.SimpleQueue()

    def derive() -> None:
        _, pids, details = handed_over(customers_the_last_of_which_came_first().staged_org(), 2)
        answers.put((set(pids) == {os.getpid()}, len(details)))

    process = context.Process(target=derive, daemon=True)
    process.start()
    process.join(60)
    assert process.exitcode == 0  # before waiting for its answer: a process that failed gives none
    assert answers.get() == (True, 5)


def test_a_copy_left_early_is_killed_though_it_ignores_sigterm_as_an_airflow_task_process_does():
    ignored = signal.signal(signal.SIGTERM, lambda *_: None)  # inherited by the copy
    try:
        started = time.monotonic()
        with pytest.raises(ValueError, match="the first part failed"), forked(lambda: time.sleep(300), "a part"):
            raise ValueError("the first part failed")
        assert time.monotonic() - started < 60  # not the copy's 300 s
    finally:
        signal.signal(signal.SIGTERM, ignored)


def test_an_outcome_that_does_not_pickle_is_an_error_that_says_so():
    with forked(lambda: (lambda: None), "a part") as result, pytest.raises(
            RuntimeError, match="the forked copy's outcome could not be handed back"):
        result()

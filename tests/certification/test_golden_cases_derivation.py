"""The golden cases, worked by hand, in the independent derivation: exactly, in memory (no database)."""
from __future__ import annotations

import pytest

from revcert.certification.independent_derivation import DerivationError, derive_figures
from revcert.settings import Settings
from tests.methodology.golden_cases import CASES, as_of_date, expected_value


@pytest.mark.parametrize("make_case", CASES, ids=lambda make: make.__name__)
def test_golden_case_in_the_independent_derivation(make_case):
    case = make_case()
    staged = case.org.staged_org()
    if case.error_rule:
        with pytest.raises(DerivationError) as error:
            derive_figures(staged, as_of_date(case), Settings().renewal_grace_days)
        assert case.error_rule in str(error.value)
        for record in case.error_ids:
            assert record in str(error.value)
        return
    derived = derive_figures(staged, as_of_date(case), Settings().renewal_grace_days)
    by_month = {(month.strftime("%Y-%m"), unit): figures for (month, unit), figures in derived.bridge.items()}
    for key, expected in case.expected.items():
        for name, value in expected.items():
            assert by_month[key][name] == expected_value(value), (key, name)
    assert not [key for key in by_month if key[1] in case.absent_units]


@pytest.mark.parametrize("make_case", [c for c in CASES if c().cohorts], ids=lambda make: make.__name__)
def test_golden_cohort_retention_in_the_independent_derivation(make_case):
    case = make_case()
    derived = derive_figures(case.org.staged_org(), as_of_date(case), Settings().renewal_grace_days)
    cohorts = {(c.strftime("%Y-%m"), unit, m.strftime("%Y-%m")): row for (c, unit, m), row in derived.cohorts.items()}
    cohorts |= {(c.strftime("%Y-%m"), "TOTAL", m.strftime("%Y-%m")): row
                for (c, m), row in derived.cohort_total.items()}
    for key, expected in case.cohorts.items():
        for name, value in expected.items():
            assert cohorts[key][name] == expected_value(value), (key, name)

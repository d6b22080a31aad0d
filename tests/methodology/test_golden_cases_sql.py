"""The golden cases in the SQL mart, exactly, with the movement identity in every month and unit."""
from __future__ import annotations

import psycopg
import pytest

from revcert.certification.figure_comparison import read_mart_figures
from revcert.methodology.errors import MethodologyError
from revcert.methodology.identity import movement_identity_breaks
from revcert.methodology.mart import build_mart
from tests.methodology.golden_cases import CASES, as_of_date, expected_value

pytestmark = pytest.mark.integration


def by_month(key: tuple) -> tuple:
    return tuple(part.strftime("%Y-%m") if hasattr(part, "strftime") else part for part in key)


@pytest.mark.parametrize("make_case", CASES, ids=lambda make: make.__name__)
def test_golden_case_in_the_sql_mart(make_case, warehouse_url):
    case = make_case()
    with psycopg.connect(warehouse_url) as conn:
        case.org.write(conn)
        if case.error_rule:
            with pytest.raises(MethodologyError) as error:
                build_mart(conn, as_of_date(case), [])
            failure = next(f for f in error.value.failures if f.rule == case.error_rule)
            assert sorted(failure.record_ids) == sorted(case.error_ids)
            for text in case.error_text:
                assert text in str(error.value)
            return
        build_mart(conn, as_of_date(case), [])
        figures = read_mart_figures(conn)
        assert movement_identity_breaks(conn) == []
    bridge = {by_month(key): row for key, row in figures["mart_mrr_bridge"].items()}
    for key, fields in case.expected.items():
        for name, value in fields.items():
            assert bridge[key][name] == expected_value(value), (key, name)
    assert not [key for key in bridge if key[1] in case.absent_units]
    cohorts = {by_month(key): row for key, row in figures["mart_cohort_retention"].items()}
    cohorts |= {(*by_month((cohort,)), "TOTAL", *by_month((month,))): row
                for (cohort, month), row in figures["mart_cohort_retention_total"].items()}
    for key, fields in case.cohorts.items():
        for name, value in fields.items():
            assert cohorts[key][name] == expected_value(value), (key, name)

"""The golden cases in the independent derivation, exactly, and equal to the mart on every figure."""
from __future__ import annotations

import psycopg
import pytest

from revcert.certification.bridge_comparison import compare_bridges, read_mart_bridge
from revcert.certification.independent_derivation import DerivationError, derive_bridge, read_staging
from revcert.methodology.mart import build_mart
from revcert.settings import Settings
from tests.methodology.golden_cases import CASES, as_of_date, expected_value

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("make_case", CASES, ids=lambda make: make.__name__)
def test_golden_case_in_the_independent_derivation(make_case, warehouse_url):
    case = make_case()
    with psycopg.connect(warehouse_url) as conn:
        case.org.write(conn)
        staged = read_staging(conn)
        if case.error_rule:
            with pytest.raises(DerivationError) as error:
                derive_bridge(staged, as_of_date(case), Settings().renewal_grace_days)
            assert case.error_rule in str(error.value)
            for record in case.error_ids:
                assert record in str(error.value)
            return
        derived = derive_bridge(staged, as_of_date(case), Settings().renewal_grace_days)
        build_mart(conn, as_of_date(case), [])
        mart = read_mart_bridge(conn)
    by_month = {(month.strftime("%Y-%m"), unit): figures for (month, unit), figures in derived.items()}
    for key, expected in case.expected.items():
        for name, value in expected.items():
            assert getattr(by_month[key], name) == expected_value(value), (key, name)
    assert not [key for key in by_month if key[1] in case.absent_units]
    assert compare_bridges(mart, derived) == []

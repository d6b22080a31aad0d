"""The golden cases: the mart and the independent derivation agree on every published figure."""
from __future__ import annotations

import psycopg
import pytest

from revcert.certification.figure_comparison import compare_figures, compare_with_mart, read_mart_figures
from revcert.certification.independent_derivation import derive_figures, read_staging
from revcert.methodology.mart import build_mart
from revcert.settings import Settings
from tests.methodology.golden_cases import CASES, as_of_date

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("make_case", [c for c in CASES if not c().error_rule], ids=lambda make: make.__name__)
def test_mart_and_derivation_agree_on_every_published_figure(make_case, warehouse_url):
    case = make_case()
    with psycopg.connect(warehouse_url) as conn:
        case.org.write(conn)
        staged = read_staging(conn)
        build_mart(conn, as_of_date(case), [])
        mart = read_mart_figures(conn)
        comparison = compare_with_mart(conn, staged, as_of_date(case), Settings().renewal_grace_days, [])
    # Equal, and by digest alone: the derivation writes its rows as the server writes the mart's.
    assert (comparison.differences, comparison.customers_read) == ([], 0)
    derived = derive_figures(staged, as_of_date(case), Settings().renewal_grace_days)
    assert staged.lines and compare_figures(mart, derived) == []
    assert mart["mart_mrr_bridge_total"] and mart["mart_cohort_retention_total"]

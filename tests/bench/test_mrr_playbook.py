"""The mrr-playbook peer (benchmarks/mrr_playbook) on the small generated org: fed the mart's service intervals,
its month-grain reading equals the mart's month-end snapshots, so the bench times two computations of the same
figures."""
from __future__ import annotations

from datetime import date

import psycopg
import pytest

from revcert.bench.salesforce import build_peer
from revcert.methodology.mart import build_mart
from tests.extraction.test_salesforce_extraction import extract

pytestmark = pytest.mark.integration

AS_OF = date(2026, 11, 21)

# Every complete month (the playbook's spine ends before the as-of month): customer-months where either
# side has MRR, with both figures, where they differ.
DISAGREEMENTS = """
    select customer_id, month, peer.mrr, mart.ending_mrr
    from (select customer_id, date_month as month, mrr from mrr_playbook.customer_revenue_by_month
          where mrr <> 0) as peer
    full join (select customer_id, month, ending_mrr from mart.mart_customer_snapshot
               where ending_mrr <> 0 and month < %(as_of_month)s) as mart using (customer_id, month)
    where peer.mrr is distinct from mart.ending_mrr
    order by customer_id, month
"""

# Net new MRR per complete month: the playbook's changes against the mart's movements.
NET_NEW_MRR = """
    select month, peer.net_new, mart.net_new
    from (select date_month as month, sum(mrr_change) as net_new from mrr_playbook.mrr
          where date_month < %(as_of_month)s group by date_month) as peer
    full join (select month, sum(movement_amount) as net_new from mart.mart_customer_movement
               where month < %(as_of_month)s group by month) as mart using (month)
    where coalesce(peer.net_new, 0) <> coalesce(mart.net_new, 0)
"""


@pytest.fixture
def peer(standin, warehouse_url):
    """The small org extracted through the stand-in, its mart built, then the peer fed from the mart."""
    extract(warehouse_url, standin)
    with psycopg.connect(warehouse_url) as conn:
        build_mart(conn, AS_OF, [])
        yield conn, build_peer(conn, AS_OF)


def test_the_peer_reads_every_complete_month_as_the_mart_snapshots_it(peer):
    conn, _ = peer
    as_of_month = {"as_of_month": AS_OF.replace(day=1)}
    compared, months = conn.execute("select count(*), count(distinct date_month) from "
                                    "mrr_playbook.customer_revenue_by_month where mrr <> 0").fetchone()
    assert compared > 3_000 and months >= 48
    assert conn.execute(DISAGREEMENTS, as_of_month).fetchall() == []
    assert conn.execute(NET_NEW_MRR, as_of_month).fetchall() == []
    latest = conn.execute("select max(date_month) from mrr_playbook.customer_revenue_by_month").fetchone()[0]
    assert latest == date(2026, 10, 1)


def test_the_peer_keeps_the_playbooks_own_tests_and_classifies_every_kind_of_change(peer):
    conn, seconds = peer
    assert list(seconds) == ["subscription_periods", "util_months", "customer_revenue_by_month",
                             "customer_churn_month", "mrr"]
    off_month = conn.execute("select count(*) from mrr_playbook.subscription_periods where "
                             "date_trunc('month', start_date) <> start_date or "
                             "date_trunc('month', end_date) <> end_date").fetchone()[0]
    assert off_month == 0
    for model, key in (("customer_revenue_by_month", "customer_id, date_month"), ("mrr", "customer_id, date_month"),
                       ("customer_churn_month", "customer_id"), ("mrr", "id")):
        repeated = conn.execute(f"select count(*) from (select {key} from mrr_playbook.{model} group by {key} "
                                "having count(*) > 1) as repeated").fetchone()[0]
        assert (model, key, repeated) == (model, key, 0)
    categories = dict(conn.execute("select change_category, count(*) from mrr_playbook.mrr "
                                   "group by change_category").fetchall())
    assert all(categories.get(kind, 0) > 10 for kind in ("new", "churn", "reactivation", "upgrade", "downgrade"))
    money_types = {row[0] for row in conn.execute(
        "select data_type from information_schema.columns where table_schema = 'mrr_playbook' "
        "and column_name in ('monthly_amount', 'mrr', 'previous_month_mrr', 'mrr_change', 'renewal_amount')")}
    assert money_types == {"numeric"}

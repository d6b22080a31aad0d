"""The analytics layer: ARR, retention, logo churn and customer counts, from the published figures only.

Revision ID: 0012
Revises: 0011

Computed again from viz each time figures are published, in the same
transaction, so a metric never reads a figure that is not certified and shown.
The page's login may read them.
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

METRICS = """
    currency text not null,
    snapshot_date date not null,
    ending_mrr numeric(18, 2) not null,
    arr numeric(18, 2) not null,
    active_customers integer not null,
    starting_customers integer not null,
    new_customers integer not null,
    expansion_customers integer not null,
    contraction_customers integer not null,
    churned_customers integer not null,
    winback_customers integer not null,
    logo_churn_pct numeric(9, 1),
    average_mrr_per_customer numeric(18, 2),
    nrr_pct numeric(9, 1),
    grr_pct numeric(9, 1),
    trailing_base_mrr numeric(18, 2),
    trailing_net_mrr numeric(18, 2),
    trailing_gross_mrr numeric(18, 2),
    nrr_12m_pct numeric(9, 1),
    grr_12m_pct numeric(9, 1),
    certification_ids bigint[] not null,
    computed_at timestamptz not null"""


def upgrade() -> None:
    op.execute(f"create table analytics.mrr_metrics (month date not null, business_unit text not null, {METRICS}, "
               "primary key (month, business_unit))")
    op.execute(f"create table analytics.mrr_metrics_total (month date primary key, {METRICS})")
    op.execute("grant usage on schema analytics to revcert_viz_reader")
    op.execute("grant select on analytics.mrr_metrics, analytics.mrr_metrics_total to revcert_viz_reader")


def downgrade() -> None:
    op.execute("drop table analytics.mrr_metrics_total")
    op.execute("drop table analytics.mrr_metrics")
    op.execute("revoke usage on schema analytics from revcert_viz_reader")

"""A build of the as-of month: when the as-of date moves on within its month and week, every customer's as-of
month is rebuilt and its earlier months kept.

Revision ID: 0021
Revises: 0020

- `mart.mart_build.rebuilt_month`, and `mart_rebuilt_month` on the certification record of the run that built
  it, name the as-of month when the build rebuilt it for every customer (null when it did not: a whole build,
  or an incremental one on the same as-of date).
- `mart.mart_customer_as_of_month_only` names the customers with no published month before the as-of
  month, whose lines and contracts such a build rebuilds too: they alone may gain or lose a published month.
"""
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("create table mart.mart_customer_as_of_month_only (customer_id text primary key)")
    op.execute("alter table mart.mart_build add column rebuilt_month date")
    op.execute("alter table certification.certification_run add column mart_rebuilt_month date")


def downgrade() -> None:
    op.execute("alter table certification.certification_run drop column mart_rebuilt_month")
    op.execute("alter table mart.mart_build drop column rebuilt_month")
    op.execute("drop table mart.mart_customer_as_of_month_only")

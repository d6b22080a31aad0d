"""An org with several corporate currencies has an ambiguous reporting currency.

Revision ID: 0010
Revises: 0009

Salesforce allows one corporate currency; a snapshot or a broken org can carry
two. The mart names that case (`ambiguous`) so the methodology's check can
refuse it by name, where before the build stopped on a null currency.
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("alter table mart.mart_reporting_currency drop constraint mart_reporting_currency_source_check")
    op.execute("alter table mart.mart_reporting_currency add constraint mart_reporting_currency_source_check "
               "check (source in ('corporate', 'only_currency', 'ambiguous', 'unknown'))")


def downgrade() -> None:
    op.execute("alter table mart.mart_reporting_currency drop constraint mart_reporting_currency_source_check")
    op.execute("alter table mart.mart_reporting_currency add constraint mart_reporting_currency_source_check "
               "check (source in ('corporate', 'only_currency', 'unknown'))")

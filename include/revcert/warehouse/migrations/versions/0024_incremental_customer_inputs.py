"""An incremental build digests again only the customers its changes may reach, not every customer.

Revision ID: 0024
Revises: 0023

`mart.mart_customer_input_scope` names the customers whose input digest a build recomputes. Unlogged like the
rest of the MRR mart (migration 0022): a crash empties it with the build record, and the next build is whole.
"""
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("create unlogged table mart.mart_customer_input_scope (customer_id text primary key)")


def downgrade() -> None:
    op.execute("drop table mart.mart_customer_input_scope")

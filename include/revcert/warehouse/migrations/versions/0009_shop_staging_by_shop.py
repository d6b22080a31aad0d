"""Refunds and refund transactions found by shop.

Revision ID: 0009
Revises: 0008

A shop is built, checked and certified on its own, in statements that pick its
rows by shop id. Refunds and their transactions had no index on it, so each
shop's statements read every shop's refunds, and a run's cost grew with the
whole warehouse instead of with each shop's own orders.
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("create index stg_refund_shop on staging.stg_refund (shop_id)")
    op.execute("create index stg_refund_transaction_shop on staging.stg_refund_transaction (shop_id)")


def downgrade() -> None:
    op.execute("drop index staging.stg_refund_transaction_shop")
    op.execute("drop index staging.stg_refund_shop")

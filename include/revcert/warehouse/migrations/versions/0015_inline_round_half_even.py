"""Half-to-even rounding that PostgreSQL inlines: the function of 0003, no longer declared strict.

A strict SQL function whose body is not itself strict (a CASE is not) is never
inlined, so every call went through the function executor: 8 of the 14 seconds
of mart_customer_revenue at 200,000 lines. A null still rounds to null.

Revision ID: 0015
Revises: 0014
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("alter function mart.round_half_even(numeric, integer) called on null input")


def downgrade() -> None:
    op.execute("alter function mart.round_half_even(numeric, integer) strict")

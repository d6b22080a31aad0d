"""Publishing records each customer's published detail by its digest.

Revision ID: 0020
Revises: 0019

`viz.customer_detail_digest` holds, per customer, the digest of the mart rows
its published months, lines and contracts were copied from (the digest check
4's proofs record). While viz shows exactly the mart's months, a publication
compares row by row only the customers whose certified digest differs from
the one recorded, and checks every other customer's against the mart's own
digests before it commits (revcert.publishing.mrr_bridge). The table starts
empty: the first publication after the upgrade compares every customer, as
before, and records them. Readers are not granted it.
"""
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        create table viz.customer_detail_digest (
            customer_id text primary key,
            detail_digest bytea not null
        )
    """)


def downgrade() -> None:
    op.execute("drop table viz.customer_detail_digest")

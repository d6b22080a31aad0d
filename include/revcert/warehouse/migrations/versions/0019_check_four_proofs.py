"""Check 4 compares row by row only the customers it has no proof for.

Revision ID: 0019
Revises: 0018

`certification.customer_detail_proof` holds, per customer, the digest of the
inputs the independent derivation derived its detail from, the digest of the
mart rows a row-by-row comparison found equal to that detail, the digest of
the basis both were made under (as-of date, renewal grace, the checks' code),
and the certification that compared them. On an incrementally built mart, check 4 still derives
every customer and compares the bridge and cohorts whole, but compares row by
row only the customers whose inputs or mart rows differ from their proof
(revcert.certification.detail_proofs). The table starts empty: the first check
4 after the upgrade compares every customer.
"""
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        create table certification.customer_detail_proof (
            customer_id text primary key,
            inputs_digest bytea not null,
            detail_digest bytea not null,
            basis_digest bytea not null,
            certification_id bigint not null references certification.certification_run (certification_id)
        )
    """)


def downgrade() -> None:
    op.execute("drop table certification.customer_detail_proof")

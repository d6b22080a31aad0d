"""Check 4 sums afresh only the customers it derives anew: the others' sums are kept with their proofs.

Revision ID: 0025
Revises: 0024

Each proof in `certification.customer_detail_proof` now keeps the customer's part of the bridge and cohort sums
(`sums_contribution`), and `certification.proven_sums` keeps, per basis, the derivation's sums over every customer
with a proof (revcert.certification.detail_proofs). The proofs made before cannot hold under this code's basis:
they are forgotten here, as the next passing check 4 would forget them, and it compares every customer.
"""
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("delete from certification.customer_detail_proof")
    op.execute("alter table certification.customer_detail_proof add column sums_contribution text not null")
    op.execute("""
        create table certification.proven_sums (
            basis_digest bytea primary key,
            total text not null,
            certification_id bigint not null references certification.certification_run (certification_id)
        )
    """)


def downgrade() -> None:
    op.execute("drop table certification.proven_sums")
    op.execute("alter table certification.customer_detail_proof drop column sums_contribution")

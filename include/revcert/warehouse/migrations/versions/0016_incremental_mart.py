"""An incremental mart: each build recomputes only the customers whose inputs changed.

Revision ID: 0016
Revises: 0015

- `mart.mart_customer_input` holds, per customer, a digest of everything the
  customer-grain models read about it (its lines, their products and rates,
  its account, its contracts and their renewal links). The next build compares
  digests to find the customers to recompute.
- `mart.mart_customer_scope` names the customers the last build recomputed
  (every customer after a whole build).
- `mart.mart_build`, and the certification record of the run that built it,
  say whether the build was whole and why, and how many customers it
  recomputed out of how many; the build also keeps a digest of the SQL that
  made it. Check 4 still derives every customer, so a certified incremental
  build equals the independent derivation to the cent.
"""
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("create table mart.mart_customer_input (customer_id text primary key, input_digest bytea not null)")
    op.execute("create table mart.mart_customer_scope (customer_id text primary key)")
    op.execute("alter table mart.mart_build add column models_digest text")
    for table, prefix in (("mart.mart_build", ""), ("certification.certification_run", "mart_")):
        op.execute(f"alter table {table} add column {prefix}whole_because text, "
                   f"add column {prefix}customers_recomputed integer, add column {prefix}customers integer")


def downgrade() -> None:
    op.execute("alter table mart.mart_build drop column models_digest")
    for table, prefix in (("mart.mart_build", ""), ("certification.certification_run", "mart_")):
        op.execute(f"alter table {table} drop column {prefix}whole_because, "
                   f"drop column {prefix}customers_recomputed, drop column {prefix}customers")
    op.execute("drop table mart.mart_customer_scope")
    op.execute("drop table mart.mart_customer_input")

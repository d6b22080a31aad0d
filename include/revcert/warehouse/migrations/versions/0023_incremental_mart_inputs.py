"""An incremental build recomputes the lines, renewal graces and service intervals its changes reach, not all.

Revision ID: 0023
Revises: 0022

- `mart.mart_staged_batch` names the staging batches the mart was last built from: a staged row whose batch
  is not among them changed since.
- `mart.mart_dated_conversion_rate` is the dated rates the lines convert at, kept from build to build: the lines
  that start within a rate's period that differs from the last build's are recomputed (rates are read whole on
  every extraction, so their batch says nothing).
- `mart.mart_line_scope` and `mart.mart_contract_scope` name the lines and contracts a build recomputes.

All are unlogged like the rest of the MRR mart (migration 0022): a crash empties them with the build record,
and the next build is whole.
"""
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("create unlogged table mart.mart_staged_batch (batch_id bigint primary key)")
    op.execute("create unlogged table mart.mart_dated_conversion_rate (dated_conversion_rate_id text primary key, "
               "iso_code text not null, conversion_rate numeric, start_date date, next_start_date date)")
    op.execute("create unlogged table mart.mart_line_scope (subscription_line_id text primary key)")
    op.execute("create unlogged table mart.mart_contract_scope (contract_id text primary key)")


def downgrade() -> None:
    for table in ("mart_contract_scope", "mart_line_scope", "mart_dated_conversion_rate", "mart_staged_batch"):
        op.execute(f"drop table mart.{table}")

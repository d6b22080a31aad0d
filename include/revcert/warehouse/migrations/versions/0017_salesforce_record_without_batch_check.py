"""Salesforce records are appended to raw without a per-row check of their batch.

Revision ID: 0017
Revises: 0016

The foreign key from `raw.salesforce_record.batch_id` to `raw.extraction_batch`
looked the batch up once per record: about a third of appending a page. What
it guarded still holds without it: the extraction commits its batch's row
(open_batch) before it appends any record under that id, and nothing deletes
a batch (raw is append-only history).
"""
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("alter table raw.salesforce_record drop constraint salesforce_record_batch_id_fkey")


def downgrade() -> None:
    op.execute("alter table raw.salesforce_record add constraint salesforce_record_batch_id_fkey "
               "foreign key (batch_id) references raw.extraction_batch")

"""Check 5 of Part C: shadow metrics, compared on every run and recorded, never blocking publishing.

Revision ID: 0014
Revises: 0013
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("insert into certification.check_definition values ('shadow_views', 5, false, $$Each shadow metric "
               "(an alternative calculation from the same mart) compared with its production figures; the "
               "differences are reported, never blocking.$$)")


def downgrade() -> None:
    op.execute("delete from certification.check_result where check_name = 'shadow_views'")
    op.execute("delete from certification.check_definition where check_name = 'shadow_views'")

"""One schema per layer of the warehouse (SPEC.md, Layers in PostgreSQL).

Revision ID: 0001
Revises:
"""
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

LAYERS = ("raw", "staging", "mart", "certification", "viz", "analytics", "shadow", "monitoring")


def upgrade() -> None:
    for layer in LAYERS:
        op.execute(f"create schema if not exists {layer}")


def downgrade() -> None:
    for layer in reversed(LAYERS):
        op.execute(f"drop schema if exists {layer} cascade")

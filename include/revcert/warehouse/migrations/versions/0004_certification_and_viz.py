"""Certification records, the warehouse lease, and the published MRR bridge.

Revision ID: 0004
Revises: 0003

viz.mrr_bridge is the published contract of SPEC.md: one row per month and
business unit, each carrying the certification that produced it.
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        create table certification.certification_run (
            certification_id bigserial primary key,
            dag_id text not null,
            run_id text not null,
            as_of_date date not null,
            status text not null check (status in ('running', 'certified', 'failed')),
            started_at timestamptz not null default now(),
            certified_at timestamptz,
            published_at timestamptz,
            extraction_batch_id bigint references raw.extraction_batch,
            figures_hash text,
            row_counts jsonb,
            overrides_used jsonb not null default '[]',
            failure_summary text,
            unique (dag_id, run_id)
        )
    """)
    op.execute("""
        create table certification.check_result (
            certification_id bigint not null references certification.certification_run,
            check_name text not null check (check_name in
                ('completeness', 'integrity', 'movement_identity', 'independent_derivation')),
            passed boolean,
            summary text not null,
            discrepancies jsonb not null default '[]',
            checked_at timestamptz not null default now(),
            primary key (certification_id, check_name)
        )
    """)
    op.execute("""
        create table certification.warehouse_lease (
            lease_name text primary key,
            certification_id bigint references certification.certification_run,
            holder_run_id text,
            acquired_at timestamptz,
            heartbeat_at timestamptz
        )
    """)
    op.execute("insert into certification.warehouse_lease (lease_name) values ('warehouse')")
    op.execute("alter table mart.mart_build add column certification_id bigint "
               "references certification.certification_run")
    op.execute("""
        create table viz.mrr_bridge (
            month date not null check (extract(day from month) = 1),
            business_unit text not null,
            starting_mrr numeric(18, 2) not null,
            new numeric(18, 2) not null,
            expansion numeric(18, 2) not null,
            contraction numeric(18, 2) not null check (contraction <= 0),
            churn numeric(18, 2) not null check (churn <= 0),
            winback numeric(18, 2) not null,
            ending_mrr numeric(18, 2) not null,
            recognized_revenue numeric(18, 2) not null,
            active_customers integer not null,
            snapshot_date date not null,
            certification_id bigint not null references certification.certification_run,
            certified_at timestamptz not null,
            primary key (month, business_unit)
        )
    """)


def downgrade() -> None:
    op.execute("alter table mart.mart_build drop column certification_id")
    for table in ("viz.mrr_bridge", "certification.warehouse_lease", "certification.check_result",
                  "certification.certification_run"):
        op.execute(f"drop table {table}")

"""What the certified-revenue page and API read: cohort retention, certification
history, and a role that can read viz and nothing else.

Revision ID: 0005
Revises: 0004

The certification views in viz run with their owner's rights, so the reader
role sees the history without any right on the certification schema.
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

VIZ_READER = "revcert_viz_reader"


def upgrade() -> None:
    op.execute("""
        create table viz.cohort_retention (
            cohort_month date not null,
            business_unit text not null,
            month date not null,
            months_since_cohort integer not null check (months_since_cohort >= 0),
            cohort_customers integer not null,
            active_customers integer not null,
            cohort_starting_mrr numeric(18, 2) not null,
            ending_mrr numeric(18, 2) not null,
            certification_id bigint not null references certification.certification_run,
            certified_at timestamptz not null,
            primary key (cohort_month, business_unit, month)
        )
    """)
    op.execute("""
        create view viz.certification_history as
        select
            certification_id,
            dag_id,
            run_id,
            as_of_date,
            status,
            started_at,
            certified_at,
            published_at,
            figures_hash,
            overrides_used,
            failure_summary
        from certification.certification_run
    """)
    op.execute("""
        create view viz.certification_check as
        select
            certification_id,
            check_name,
            passed,
            summary,
            discrepancies,
            checked_at
        from certification.check_result
    """)
    op.execute(f"""
        do $$
        begin
            if not exists (select 1 from pg_roles where rolname = '{VIZ_READER}') then
                create role {VIZ_READER} nologin;
            end if;
        end
        $$
    """)
    # The page and API connect as the warehouse login and `set role` to the reader for every query.
    op.execute(f"grant {VIZ_READER} to current_user")
    op.execute(f"grant usage on schema viz to {VIZ_READER}")
    op.execute(f"grant select on all tables in schema viz to {VIZ_READER}")
    op.execute(f"alter default privileges in schema viz grant select on tables to {VIZ_READER}")


def downgrade() -> None:
    op.execute(f"alter default privileges in schema viz revoke select on tables from {VIZ_READER}")
    op.execute(f"revoke select on all tables in schema viz from {VIZ_READER}")
    op.execute(f"revoke usage on schema viz from {VIZ_READER}")
    op.execute("drop view viz.certification_check")
    op.execute("drop view viz.certification_history")
    op.execute("drop table viz.cohort_retention")

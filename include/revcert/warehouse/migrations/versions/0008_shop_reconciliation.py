"""Reconciliation of published shop-days against the live source (METHODOLOGY.md B5).

Revision ID: 0008
Revises: 0007

Every comparison is kept: a run of the reconciliation, each sampled shop's
outcome (compared, or failed with why, and what it cost at the source), and
each shop-day's source and stored figures. A discrepancy stays open until a
later reconciliation finds that shop-day equal again; the repair run requested
for it is recorded beside it. The page reads two views in viz, so its login
still reads viz and nothing else.
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        create table monitoring.reconciliation_run (
            reconciliation_run_id bigserial primary key,
            dag_id text not null,
            run_id text not null,
            as_of_date date,
            days integer not null check (days > 0),
            fraction numeric(5, 4) not null check (fraction > 0 and fraction <= 1),
            all_shops boolean not null,
            seed bigint not null,
            shops_active integer not null,
            shops_sampled text[] not null,
            status text not null check (status in ('running', 'clean', 'discrepancies', 'failed')),
            shop_days_compared integer,
            discrepancies integer,
            shops_failed integer,
            discrepancy_rate numeric(9, 6),
            started_at timestamptz not null default now(),
            finished_at timestamptz,
            unique (dag_id, run_id)
        )
    """)
    op.execute("""
        create table monitoring.reconciliation_shop (
            reconciliation_run_id bigint not null references monitoring.reconciliation_run,
            shop_id text not null,
            status text not null check (status in ('compared', 'failed')),
            first_day date,
            last_day date,
            orders_read integer,
            source_requests integer,
            source_cost integer,
            error text,
            compared_at timestamptz not null default now(),
            primary key (reconciliation_run_id, shop_id)
        )
    """)
    op.execute("""
        create table monitoring.reconciliation_result (
            reconciliation_run_id bigint not null references monitoring.reconciliation_run,
            shop_id text not null,
            day date not null,
            currency text not null,
            source_net_revenue numeric(18, 2) not null,
            stored_net_revenue numeric(18, 2),
            stored_certification_id bigint references certification.certification_run,
            difference numeric(18, 2) not null,
            relative_difference numeric,
            status text not null check (status in ('match', 'discrepancy')),
            differing_order_ids text[] not null default '{}',
            repair_run_id text,
            repair_requested_at timestamptz,
            closed_by_reconciliation_run_id bigint references monitoring.reconciliation_run,
            primary key (reconciliation_run_id, shop_id, day)
        )
    """)
    op.execute("create index reconciliation_result_open on monitoring.reconciliation_result (shop_id, day) "
               "where status = 'discrepancy' and closed_by_reconciliation_run_id is null")
    op.execute("""
        create view viz.reconciliation_run as
        select reconciliation_run_id, dag_id, run_id, as_of_date, days, fraction, all_shops, seed, shops_active,
               cardinality(shops_sampled) as shops_sampled, status, shop_days_compared, discrepancies,
               shops_failed, discrepancy_rate, started_at, finished_at
        from monitoring.reconciliation_run
    """)
    op.execute("""
        create view viz.reconciliation_discrepancy as
        select result.reconciliation_run_id, run.run_id, result.shop_id, result.day, result.currency,
               result.source_net_revenue, result.stored_net_revenue, result.stored_certification_id,
               result.difference, result.relative_difference, result.differing_order_ids, result.repair_run_id,
               result.repair_requested_at, result.closed_by_reconciliation_run_id,
               result.closed_by_reconciliation_run_id is null as is_open, run.started_at as found_at
        from monitoring.reconciliation_result as result
        inner join monitoring.reconciliation_run as run
            on result.reconciliation_run_id = run.reconciliation_run_id
        where result.status = 'discrepancy'
    """)
    op.execute("grant select on viz.reconciliation_run, viz.reconciliation_discrepancy to revcert_viz_reader")


def downgrade() -> None:
    op.execute("drop view viz.reconciliation_discrepancy")
    op.execute("drop view viz.reconciliation_run")
    op.execute("drop table monitoring.reconciliation_result")
    op.execute("drop table monitoring.reconciliation_shop")
    op.execute("drop table monitoring.reconciliation_run")

"""Certify everything that is published; run state that survives crashes.

Revision ID: 0006
Revises: 0005

- Totals across business units, net new MRR and cohort retention (with its
  percentages) become mart models, published rows and certified figures; the
  reporting currency is a published column (SPEC.md's contract names it).
- Check names come from `certification.check_definition`, so a new check (Part
  C check 5) is a row, not a constraint change.
- A run can end `abandoned` (it crashed, was stopped, or gave up waiting), and
  so can an extraction batch; a record says which months its run published,
  and which it withdrew (a restatement replaces months whatever their snapshot
  date, and withdraws published months later than its own as-of month); the lease names its holder's DAG run, keeps a
  heartbeat, and every change of holder is logged.

Rows published before this revision get their currency from the mart that
certified them and their totals as exact sums of their certified rows, under
the same certification.
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BRIDGE_AMOUNTS = """
    starting_mrr numeric(18, 2) not null,
    new numeric(18, 2) not null,
    expansion numeric(18, 2) not null,
    contraction numeric(18, 2) not null check (contraction <= 0),
    churn numeric(18, 2) not null check (churn <= 0),
    winback numeric(18, 2) not null,
    net_new_mrr numeric(18, 2) not null,
    ending_mrr numeric(18, 2) not null,
    recognized_revenue numeric(18, 2) not null,
    active_customers integer not null"""

COHORT_FIGURES = """
    months_since_cohort integer not null check (months_since_cohort >= 0),
    currency text not null,
    snapshot_date date not null,
    cohort_customers integer not null,
    active_customers integer not null,
    cohort_starting_mrr numeric(18, 2) not null,
    ending_mrr numeric(18, 2) not null,
    mrr_retention_pct numeric(9, 1),
    logo_retention_pct numeric(9, 1)"""

CERTIFIED = """
    certification_id bigint not null references certification.certification_run,
    certified_at timestamptz not null"""

CHECKS = (
    ("completeness", 1, "Every extracted object: live records staged = the source's count; control sums equal."),
    ("integrity", 2, "Every recurring line classified, every currency rated, no negative customer MRR, one row "
                     "per customer and month, no unresolved chain."),
    ("movement_identity", 3, "Movements = ending minus starting MRR, per month and business unit and in total."),
    ("independent_derivation", 4, "A separate implementation reading staging gives every published figure "
                                  "to the cent."),
)


def upgrade() -> None:
    op.execute("""
        create table certification.check_definition (
            check_name text primary key,
            part_c_number integer not null,
            blocks_publishing boolean not null,
            description text not null
        )
    """)
    for name, number, description in CHECKS:
        op.execute(f"insert into certification.check_definition values ('{name}', {number}, true, "
                   f"$${description}$$)")
    op.execute("alter table certification.check_result drop constraint check_result_check_name_check")
    op.execute("alter table certification.check_result add foreign key (check_name) "
               "references certification.check_definition")

    op.execute("alter table certification.certification_run drop constraint certification_run_status_check")
    op.execute("alter table certification.certification_run add constraint certification_run_status_check "
               "check (status in ('running', 'certified', 'failed', 'abandoned'))")
    op.execute("alter table certification.certification_run add column is_certify_only boolean not null "
               "default false")
    op.execute("alter table certification.certification_run alter column is_certify_only drop default")
    op.execute("alter table certification.certification_run add column closed_at timestamptz")
    op.execute("alter table certification.certification_run add column is_restatement boolean not null "
               "default false")
    op.execute("alter table certification.certification_run alter column is_restatement drop default")
    op.execute("alter table certification.certification_run add column published_months jsonb")
    op.execute("alter table certification.certification_run add column withdrawn_months jsonb")
    op.execute("update certification.certification_run set closed_at = coalesce(published_at, certified_at, "
               "started_at) where status <> 'running'")

    op.execute("alter table raw.extraction_batch drop constraint extraction_batch_status_check")
    op.execute("alter table raw.extraction_batch add constraint extraction_batch_status_check "
               "check (status in ('running', 'extracted', 'staged', 'failed', 'abandoned'))")

    op.execute("alter table certification.warehouse_lease rename column holder_run_id to holder")
    op.execute("alter table certification.warehouse_lease add column holder_dag_id text")
    op.execute("alter table certification.warehouse_lease add column holder_run_id text")
    op.execute("""
        create table certification.warehouse_lease_event (
            event_id bigserial primary key,
            lease_name text not null,
            event text not null check (event in ('acquired', 'released', 'taken_over', 'force_released')),
            holder text,
            previous_holder text,
            reason text,
            happened_at timestamptz not null default now()
        )
    """)

    # The mart is rebuilt from staging by every run: its tables can be emptied and reshaped.
    op.execute("truncate mart.mart_mrr_bridge, mart.mart_build")
    op.execute("alter table mart.mart_mrr_bridge add column currency text not null")
    op.execute("alter table mart.mart_mrr_bridge add column net_new_mrr numeric(18, 2) not null")
    op.execute(f"""
        create table mart.mart_mrr_bridge_total (
            month date primary key,
            currency text not null,
            snapshot_date date not null,
            {BRIDGE_AMOUNTS}
        )
    """)
    op.execute(f"""
        create table mart.mart_cohort_retention (
            cohort_month date not null,
            business_unit text not null,
            month date not null,
            {COHORT_FIGURES},
            primary key (cohort_month, business_unit, month)
        )
    """)
    op.execute(f"""
        create table mart.mart_cohort_retention_total (
            cohort_month date not null,
            month date not null,
            {COHORT_FIGURES},
            primary key (cohort_month, month)
        )
    """)

    reporting_currency = "(select iso_code from mart.mart_reporting_currency limit 1)"
    op.execute("alter table viz.mrr_bridge add column currency text")
    op.execute("alter table viz.mrr_bridge add column net_new_mrr numeric(18, 2)")
    op.execute(f"update viz.mrr_bridge set currency = coalesce({reporting_currency}, 'USD'), "
               "net_new_mrr = new + expansion + contraction + churn + winback")
    op.execute("alter table viz.mrr_bridge alter column currency set not null")
    op.execute("alter table viz.mrr_bridge alter column net_new_mrr set not null")
    op.execute(f"""
        create table viz.mrr_bridge_total (
            month date primary key check (extract(day from month) = 1),
            currency text not null,
            snapshot_date date not null,
            {BRIDGE_AMOUNTS},
            {CERTIFIED}
        )
    """)
    op.execute("""
        insert into viz.mrr_bridge_total (month, currency, snapshot_date, starting_mrr, new, expansion, contraction,
            churn, winback, net_new_mrr, ending_mrr, recognized_revenue, active_customers, certification_id,
            certified_at)
        select month, min(currency), max(snapshot_date), sum(starting_mrr), sum(new), sum(expansion),
            sum(contraction), sum(churn), sum(winback), sum(net_new_mrr), sum(ending_mrr), sum(recognized_revenue),
            sum(active_customers), max(certification_id), max(certified_at)
        from viz.mrr_bridge
        group by month
    """)

    op.execute("alter table viz.cohort_retention add column currency text")
    op.execute("alter table viz.cohort_retention add column snapshot_date date")
    op.execute("alter table viz.cohort_retention add column mrr_retention_pct numeric(9, 1)")
    op.execute("alter table viz.cohort_retention add column logo_retention_pct numeric(9, 1)")
    op.execute("""
        update viz.cohort_retention as cohort
        set currency = bridge.currency,
            snapshot_date = bridge.snapshot_date,
            mrr_retention_pct = case when cohort.cohort_starting_mrr > 0 then
                mart.round_half_even(cohort.ending_mrr * 100 / cohort.cohort_starting_mrr, 1) end,
            logo_retention_pct = case when cohort.cohort_customers > 0 then
                mart.round_half_even(cohort.active_customers::numeric * 100 / cohort.cohort_customers, 1) end
        from viz.mrr_bridge_total as bridge
        where bridge.month = cohort.month
    """)
    op.execute("delete from viz.cohort_retention where currency is null")
    op.execute("alter table viz.cohort_retention alter column currency set not null")
    op.execute("alter table viz.cohort_retention alter column snapshot_date set not null")
    op.execute(f"""
        create table viz.cohort_retention_total (
            cohort_month date not null,
            month date not null,
            {COHORT_FIGURES},
            {CERTIFIED},
            primary key (cohort_month, month)
        )
    """)
    op.execute("""
        insert into viz.cohort_retention_total (cohort_month, month, months_since_cohort, currency, snapshot_date,
            cohort_customers, active_customers, cohort_starting_mrr, ending_mrr, mrr_retention_pct,
            logo_retention_pct, certification_id, certified_at)
        select cohort_month, month, min(months_since_cohort), min(currency), max(snapshot_date),
            sum(cohort_customers), sum(active_customers), sum(cohort_starting_mrr), sum(ending_mrr),
            case when sum(cohort_starting_mrr) > 0 then
                mart.round_half_even(sum(ending_mrr) * 100 / sum(cohort_starting_mrr), 1) end,
            case when sum(cohort_customers) > 0 then
                mart.round_half_even(sum(active_customers)::numeric * 100 / sum(cohort_customers), 1) end,
            max(certification_id), max(certified_at)
        from viz.cohort_retention
        group by cohort_month, month
    """)

    op.execute("""
        create or replace view viz.certification_history as
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
            failure_summary,
            is_certify_only,
            closed_at,
            is_restatement,
            published_months,
            withdrawn_months
        from certification.certification_run
    """)


def downgrade() -> None:
    op.execute("drop view viz.certification_history")
    op.execute("""
        create view viz.certification_history as
        select certification_id, dag_id, run_id, as_of_date, status, started_at, certified_at, published_at,
            figures_hash, overrides_used, failure_summary
        from certification.certification_run
    """)
    op.execute("drop table viz.cohort_retention_total")
    for column in ("currency", "snapshot_date", "mrr_retention_pct", "logo_retention_pct"):
        op.execute(f"alter table viz.cohort_retention drop column {column}")
    op.execute("drop table viz.mrr_bridge_total")
    op.execute("alter table viz.mrr_bridge drop column currency")
    op.execute("alter table viz.mrr_bridge drop column net_new_mrr")
    op.execute("drop table mart.mart_cohort_retention_total")
    op.execute("drop table mart.mart_cohort_retention")
    op.execute("drop table mart.mart_mrr_bridge_total")
    op.execute("truncate mart.mart_mrr_bridge")
    op.execute("alter table mart.mart_mrr_bridge drop column currency")
    op.execute("alter table mart.mart_mrr_bridge drop column net_new_mrr")
    op.execute("drop table certification.warehouse_lease_event")
    op.execute("alter table certification.warehouse_lease drop column holder_run_id")
    op.execute("alter table certification.warehouse_lease drop column holder_dag_id")
    op.execute("alter table certification.warehouse_lease rename column holder to holder_run_id")
    op.execute("alter table raw.extraction_batch drop constraint extraction_batch_status_check")
    op.execute("update raw.extraction_batch set status = 'failed' where status = 'abandoned'")
    op.execute("alter table raw.extraction_batch add constraint extraction_batch_status_check "
               "check (status in ('running', 'extracted', 'staged', 'failed'))")
    for column in ("closed_at", "is_restatement", "published_months", "withdrawn_months"):
        op.execute(f"alter table certification.certification_run drop column {column}")
    op.execute("alter table certification.certification_run drop column is_certify_only")
    op.execute("alter table certification.certification_run drop constraint certification_run_status_check")
    op.execute("update certification.certification_run set status = 'failed' where status = 'abandoned'")
    op.execute("alter table certification.certification_run add constraint certification_run_status_check "
               "check (status in ('running', 'certified', 'failed'))")
    op.execute("alter table certification.check_result drop constraint check_result_check_name_fkey")
    op.execute("alter table certification.check_result add constraint check_result_check_name_check check "
               "(check_name in ('completeness', 'integrity', 'movement_identity', 'independent_derivation'))")
    op.execute("drop table certification.check_definition")

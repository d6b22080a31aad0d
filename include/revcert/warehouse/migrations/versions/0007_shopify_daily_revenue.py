"""Shopify daily order revenue (METHODOLOGY.md Part B): raw, staging, mart, certification per shop, viz.

Revision ID: 0007
Revises: 0006

Each shop is extracted as a batch of its own and certified by a record of its
own (certification_run.scope = the shop's id), so one shop's failure never
holds back the others. Shop-days are recomputed whole (never patched): the
mart keeps every shop-day it ever computed and a run replaces the days its
changes touch (mart_shop_day_scope says which).
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SHOP_DAY_FIGURES = """
    currency text not null,
    gross_revenue numeric(18, 2) not null,
    refunds numeric(18, 2) not null,
    net_revenue numeric(18, 2) not null,
    order_count integer not null,
    refund_count integer not null,
    check (net_revenue = gross_revenue - refunds)"""


def upgrade() -> None:
    op.execute("alter table raw.extraction_batch add column shop_id text")
    op.execute("alter table raw.extraction_batch drop constraint extraction_batch_mode_check")
    op.execute("alter table raw.extraction_batch add constraint extraction_batch_mode_check "
               "check (mode in ('incremental', 'full', 'range'))")
    op.execute("""
        create table raw.shopify_record (
            batch_id bigint not null references raw.extraction_batch,
            shop_id text not null,
            object_name text not null check (object_name in ('Shop', 'Order')),
            record_id text not null,
            updated_at timestamptz,
            record jsonb not null,
            received_at timestamptz not null default now()
        )
    """)
    op.execute("create index shopify_record_batch_object on raw.shopify_record (batch_id, object_name)")
    op.execute("""
        create table raw.shopify_batch (
            batch_id bigint primary key references raw.extraction_batch,
            shop_id text not null,
            api text not null check (api in ('paged', 'bulk')),
            search text,
            orders_fetched bigint not null,
            watermark_before timestamptz,
            max_updated_at timestamptz,
            source_count bigint not null,
            extracted_at timestamptz not null
        )
    """)

    op.execute("""
        create table staging.stg_shop (
            shop_id text primary key,
            shop_gid text not null,
            shop_name text,
            iana_timezone text,
            currency_code text,
            batch_id bigint not null
        )
    """)
    op.execute("""
        create table staging.stg_order (
            order_id text primary key,
            shop_id text not null,
            order_gid text not null,
            order_name text,
            is_test boolean not null,
            currency_code text,
            presentment_currency_code text,
            shop_total numeric,
            shop_total_currency text,
            presentment_total numeric,
            presentment_total_currency text,
            created_at timestamptz not null,
            processed_at timestamptz,
            cancelled_at timestamptz,
            updated_at timestamptz not null,
            batch_id bigint not null
        )
    """)
    op.execute("create index stg_order_shop on staging.stg_order (shop_id)")
    op.execute("""
        create table staging.stg_refund (
            refund_id text primary key,
            order_id text not null,
            shop_id text not null,
            created_at timestamptz,
            batch_id bigint not null
        )
    """)
    op.execute("create index stg_refund_order on staging.stg_refund (order_id)")
    op.execute("""
        create table staging.stg_refund_transaction (
            transaction_id text primary key,
            refund_id text not null,
            order_id text not null,
            shop_id text not null,
            kind text,
            status text,
            amount numeric,
            currency_code text,
            batch_id bigint not null
        )
    """)
    op.execute("create index stg_refund_transaction_order on staging.stg_refund_transaction (order_id)")
    op.execute("""
        create table staging.shopify_extraction_audit (
            batch_id bigint primary key references raw.extraction_batch,
            shop_id text not null,
            api text not null check (api in ('paged', 'bulk')),
            search text,
            orders_fetched bigint not null,
            watermark_before timestamptz,
            watermark_after timestamptz,
            source_count bigint not null,
            staged_count bigint not null,
            extracted_at timestamptz not null,
            staged_at timestamptz not null default now()
        )
    """)
    op.execute("""
        create table staging.shopify_watermark (
            shop_id text primary key,
            watermark timestamptz not null,
            batch_id bigint not null references raw.extraction_batch,
            updated_at timestamptz not null default now()
        )
    """)
    op.execute("""
        create table staging.shop_setting (
            shop_id text primary key,
            refund_attribution text not null check (refund_attribution in ('order_date', 'refund_date')),
            reason text not null check (btrim(reason) <> ''),
            approver text not null check (btrim(approver) <> '')
        )
    """)

    # One lease per pipeline: the MRR run and the shop run never touch each other's tables.
    op.execute("update certification.warehouse_lease set lease_name = 'certified_mrr' where lease_name = 'warehouse'")
    op.execute("update certification.warehouse_lease_event set lease_name = 'certified_mrr' "
               "where lease_name = 'warehouse'")
    op.execute("insert into certification.warehouse_lease (lease_name) values ('shop_daily_revenue')")

    op.execute("alter table certification.certification_run add column scope text not null default ''")
    op.execute("alter table certification.certification_run alter column scope drop default")
    op.execute("alter table certification.certification_run drop constraint certification_run_dag_id_run_id_key")
    op.execute("alter table certification.certification_run add constraint certification_run_dag_id_run_id_scope_key "
               "unique (dag_id, run_id, scope)")

    op.execute("""
        create table mart.mart_shop (
            shop_id text primary key,
            shop_name text,
            iana_timezone text,
            currency text not null,
            refund_attribution text not null,
            is_timezone_known boolean not null,
            first_order_day date,
            is_recomputed_whole boolean not null
        )
    """)
    op.execute("""
        create table mart.mart_shop_day_scope (
            shop_id text not null,
            day date not null,
            primary key (shop_id, day)
        )
    """)
    op.execute("""
        create table mart.mart_shop_order (
            order_id text primary key,
            shop_id text not null,
            order_day date not null,
            is_counted boolean not null,
            gross_revenue numeric(18, 2) not null
        )
    """)
    op.execute("create index mart_shop_order_day on mart.mart_shop_order (shop_id, order_day)")
    op.execute("""
        create table mart.mart_shop_refund (
            refund_id text primary key,
            order_id text not null,
            shop_id text not null,
            attributed_day date not null,
            refund_amount numeric(18, 2) not null
        )
    """)
    op.execute("create index mart_shop_refund_day on mart.mart_shop_refund (shop_id, attributed_day)")
    op.execute(f"""
        create table mart.mart_shop_day (
            shop_id text not null,
            day date not null,
            {SHOP_DAY_FIGURES},
            primary key (shop_id, day)
        )
    """)
    op.execute("""
        create table mart.mart_shop_build (
            shop_id text primary key,
            certification_id bigint not null references certification.certification_run,
            as_of_date date not null,
            days_in_scope integer not null,
            built_at timestamptz not null default now()
        )
    """)

    op.execute("""
        create table viz.shop (
            shop_id text primary key,
            shop_name text,
            iana_timezone text not null,
            currency text not null,
            refund_attribution text not null,
            certification_id bigint not null references certification.certification_run,
            certified_at timestamptz not null
        )
    """)
    op.execute(f"""
        create table viz.shop_daily_revenue (
            shop_id text not null,
            day date not null,
            {SHOP_DAY_FIGURES},
            certification_id bigint not null references certification.certification_run,
            certified_at timestamptz not null,
            primary key (shop_id, day)
        )
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
            withdrawn_months,
            scope
        from certification.certification_run
    """)


def downgrade() -> None:
    op.execute("drop view viz.certification_history")
    op.execute("""
        create view viz.certification_history as
        select certification_id, dag_id, run_id, as_of_date, status, started_at, certified_at, published_at,
            figures_hash, overrides_used, failure_summary, is_certify_only, closed_at, is_restatement,
            published_months, withdrawn_months
        from certification.certification_run
    """)
    op.execute("grant select on viz.certification_history to revcert_viz_reader")
    for table in ("viz.shop_daily_revenue", "viz.shop", "mart.mart_shop_build", "mart.mart_shop_day",
                  "mart.mart_shop_refund", "mart.mart_shop_order", "mart.mart_shop_day_scope", "mart.mart_shop",
                  "staging.shop_setting", "staging.shopify_watermark", "staging.shopify_extraction_audit",
                  "staging.stg_refund_transaction", "staging.stg_refund", "staging.stg_order", "staging.stg_shop",
                  "raw.shopify_batch", "raw.shopify_record"):
        op.execute(f"drop table {table}")
    op.execute("delete from certification.check_result where certification_id in (select certification_id from "
               "certification.certification_run where scope <> '')")
    op.execute("delete from certification.certification_run where scope <> ''")
    op.execute("alter table certification.certification_run drop constraint "
               "certification_run_dag_id_run_id_scope_key")
    op.execute("alter table certification.certification_run add unique (dag_id, run_id)")
    op.execute("alter table certification.certification_run drop column scope")
    op.execute("delete from certification.warehouse_lease where lease_name = 'shop_daily_revenue'")
    op.execute("update certification.warehouse_lease set lease_name = 'warehouse' where lease_name = 'certified_mrr'")
    op.execute("update certification.warehouse_lease_event set lease_name = 'warehouse' "
               "where lease_name = 'certified_mrr'")
    op.execute("alter table raw.extraction_batch drop constraint extraction_batch_mode_check")
    op.execute("alter table raw.extraction_batch add constraint extraction_batch_mode_check "
               "check (mode in ('incremental', 'full'))")
    op.execute("alter table raw.extraction_batch drop column shop_id")

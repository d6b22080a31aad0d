"""Salesforce extraction: raw record versions, typed staging, the extraction audit.

Revision ID: 0002
Revises: 0001

Staging keeps one row per source Id. A deleted record stays as a tombstone
(is_deleted = true) so that an older version read again inside the lookback
window can never bring it back; every model downstream reads live rows only.
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        create table raw.extraction_batch (
            batch_id bigserial primary key,
            source text not null,
            mode text not null check (mode in ('incremental', 'full')),
            status text not null check (status in ('running', 'extracted', 'staged', 'failed')),
            started_at timestamptz not null default now(),
            finished_at timestamptz,
            error text
        )
    """)
    op.execute("""
        create table raw.salesforce_record (
            batch_id bigint not null references raw.extraction_batch,
            object_name text not null,
            record_id text not null,
            system_modstamp timestamptz,
            is_deleted boolean not null,
            record jsonb not null,
            received_at timestamptz not null default now()
        )
    """)
    op.execute("create index salesforce_record_batch_object on raw.salesforce_record (batch_id, object_name)")
    op.execute("""
        create table raw.extraction_batch_object (
            batch_id bigint not null references raw.extraction_batch,
            object_name text not null,
            replication text not null check (replication in ('incremental', 'full')),
            api text not null check (api in ('rest', 'bulk2')),
            soql text not null,
            read_whole boolean not null,
            records_fetched bigint not null,
            deleted_fetched bigint not null,
            watermark_before timestamptz,
            max_modstamp timestamptz,
            source_count bigint not null,
            source_sums jsonb not null,
            extracted_at timestamptz not null,
            primary key (batch_id, object_name)
        )
    """)

    op.execute("""
        create table staging.extraction_audit (
            batch_id bigint not null references raw.extraction_batch,
            object_name text not null,
            replication text not null check (replication in ('incremental', 'full')),
            api text not null check (api in ('rest', 'bulk2')),
            soql text not null,
            records_fetched bigint not null,
            deleted_fetched bigint not null,
            watermark_before timestamptz,
            watermark_after timestamptz,
            source_count bigint not null,
            staged_count bigint not null,
            extracted_at timestamptz not null,
            staged_at timestamptz not null default now(),
            primary key (batch_id, object_name)
        )
    """)
    op.execute("""
        create table staging.extraction_control_sum (
            batch_id bigint not null,
            object_name text not null,
            field_name text not null,
            source_sum numeric not null,
            staged_sum numeric not null,
            primary key (batch_id, object_name, field_name),
            foreign key (batch_id, object_name) references staging.extraction_audit
        )
    """)
    op.execute("""
        create table staging.extraction_watermark (
            object_name text primary key,
            watermark timestamptz not null,
            batch_id bigint not null references raw.extraction_batch,
            updated_at timestamptz not null default now()
        )
    """)

    op.execute("""
        create table staging.stg_account (
            account_id text primary key,
            parent_account_id text,
            account_name text,
            business_unit text,
            currency_iso_code text,
            is_deleted boolean not null,
            system_modstamp timestamptz not null,
            batch_id bigint not null
        )
    """)
    op.execute("""
        create table staging.stg_contract (
            contract_id text primary key,
            account_id text,
            opportunity_id text,
            renewal_opportunity_id text,
            status text,
            start_date date,
            end_date date,
            is_deleted boolean not null,
            system_modstamp timestamptz not null,
            batch_id bigint not null
        )
    """)
    op.execute("""
        create table staging.stg_opportunity (
            opportunity_id text primary key,
            account_id text,
            renewed_contract_id text,
            amended_contract_id text,
            is_deleted boolean not null,
            system_modstamp timestamptz not null,
            batch_id bigint not null
        )
    """)
    op.execute("""
        create table staging.stg_subscription_line (
            subscription_line_id text primary key,
            account_id text,
            contract_id text,
            product_id text,
            revised_subscription_line_id text,
            currency_iso_code text,
            quantity numeric,
            net_price numeric,
            prorate_multiplier numeric,
            start_date date,
            end_date date,
            terminated_date date,
            is_deleted boolean not null,
            system_modstamp timestamptz not null,
            batch_id bigint not null
        )
    """)
    op.execute("""
        create table staging.stg_product (
            product_id text primary key,
            product_name text,
            product_family text,
            charge_type text,
            subscription_term_months numeric,
            is_deleted boolean not null,
            system_modstamp timestamptz not null,
            batch_id bigint not null
        )
    """)
    op.execute("""
        create table staging.stg_dated_conversion_rate (
            dated_conversion_rate_id text primary key,
            iso_code text not null,
            conversion_rate numeric,
            start_date date,
            next_start_date date,
            system_modstamp timestamptz,
            batch_id bigint not null
        )
    """)
    op.execute("""
        create table staging.stg_currency_type (
            currency_type_id text primary key,
            iso_code text not null,
            conversion_rate numeric,
            is_corporate boolean not null,
            system_modstamp timestamptz,
            batch_id bigint not null
        )
    """)


def downgrade() -> None:
    for table in (
        "staging.stg_currency_type", "staging.stg_dated_conversion_rate", "staging.stg_product",
        "staging.stg_subscription_line", "staging.stg_opportunity", "staging.stg_contract", "staging.stg_account",
        "staging.extraction_watermark", "staging.extraction_control_sum", "staging.extraction_audit",
        "raw.extraction_batch_object", "raw.salesforce_record", "raw.extraction_batch",
    ):
        op.execute(f"drop table if exists {table}")

"""The methodology in the mart (METHODOLOGY.md Part A) and its classification overrides.

Revision ID: 0003
Revises: 0002

Every mart table is rebuilt from staging by `revcert.methodology.mart`; the
primary keys state each model's grain and refuse a second row for it.
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = {
    "staging.classification_override": """
        contract_id text primary key,
        customer_account_id text not null,
        reason text not null check (btrim(reason) <> ''),
        approver text not null check (btrim(approver) <> '')""",
    "mart.mart_reporting_currency": """
        iso_code text,
        source text not null check (source in ('corporate', 'only_currency', 'unknown'))""",
    "mart.mart_renewal_link": """
        predecessor_contract_id text not null,
        successor_contract_id text not null,
        is_linked_by_opportunity boolean not null,
        is_linked_by_contract boolean not null,
        primary key (predecessor_contract_id, successor_contract_id)""",
    "mart.mart_contract_customer": """
        contract_id text primary key,
        account_id text,
        customer_id text,
        root_customer_count integer not null,
        root_customer_ids text[] not null,
        is_on_cycle boolean not null,
        has_cycle_upstream boolean not null,
        is_overridden boolean not null,
        override_reason text,
        override_approver text""",
    "mart.mart_customer": """
        customer_id text primary key,
        customer_name text,
        business_unit text not null,
        is_account_live boolean not null""",
    "mart.mart_subscription_line": """
        subscription_line_id text primary key,
        contract_id text,
        product_id text,
        currency_iso_code text,
        is_recurring boolean,
        has_contract boolean not null,
        quantity numeric,
        net_price numeric,
        prorate_multiplier numeric,
        subscription_term_months numeric,
        conversion_rate numeric,
        service_start_date date,
        scheduled_end_date date,
        service_end_date date,
        terminated_date date,
        is_zero_length boolean,
        line_mrr numeric(18, 2)""",
    "mart.mart_renewal_grace": """
        contract_id text primary key,
        service_start_date date not null,
        service_end_date date not null,
        successor_contract_id text,
        gap_days integer,
        grace_days integer not null check (grace_days >= 0)""",
    "mart.mart_service_interval": """
        subscription_line_id text primary key,
        contract_id text not null,
        customer_id text not null,
        line_mrr numeric(18, 2) not null,
        service_start_date date not null,
        service_end_date date not null,
        mrr_end_date date not null,
        check (service_end_date >= service_start_date and mrr_end_date >= service_end_date)""",
    "mart.mart_customer_mrr_segment": """
        customer_id text not null,
        segment_start_date date not null,
        segment_end_date date,
        daily_mrr numeric(18, 2) not null,
        primary key (customer_id, segment_start_date)""",
    "mart.mart_customer_cohort": """
        customer_id text primary key,
        first_service_date date not null,
        cohort_month date not null""",
    "mart.mart_customer_snapshot": """
        customer_id text not null,
        month date not null,
        snapshot_date date not null,
        business_unit text not null,
        starting_mrr numeric(18, 2) not null,
        ending_mrr numeric(18, 2) not null,
        primary key (customer_id, month)""",
    "mart.mart_customer_movement": """
        customer_id text not null,
        month date not null,
        business_unit text not null,
        movement_type text not null check (movement_type in
            ('new', 'expansion', 'contraction', 'churn', 'winback', 'none')),
        movement_amount numeric(18, 2) not null,
        primary key (customer_id, month)""",
    "mart.mart_customer_revenue": """
        customer_id text not null,
        month date not null,
        business_unit text not null,
        recognized_revenue numeric(18, 2) not null,
        primary key (customer_id, month)""",
    "mart.mart_mrr_bridge": """
        month date not null,
        business_unit text not null,
        snapshot_date date not null,
        starting_mrr numeric(18, 2) not null,
        new numeric(18, 2) not null,
        expansion numeric(18, 2) not null,
        contraction numeric(18, 2) not null check (contraction <= 0),
        churn numeric(18, 2) not null check (churn <= 0),
        winback numeric(18, 2) not null,
        ending_mrr numeric(18, 2) not null,
        recognized_revenue numeric(18, 2) not null,
        active_customers integer not null,
        primary key (month, business_unit)""",
    "mart.mart_build": """
        mart_build_id bigserial primary key,
        as_of_date date not null,
        renewal_grace_days integer not null,
        built_at timestamptz not null default now()""",
}


def upgrade() -> None:
    # PostgreSQL's round() goes half away from zero; the methodology rounds half to even.
    op.execute("""
        create function mart.round_half_even(value numeric, places integer) returns numeric
        language sql immutable strict parallel safe as $$
            select case
                when abs(value * power(10::numeric, places) - trunc(value * power(10::numeric, places))) = 0.5
                     and mod(trunc(value * power(10::numeric, places)), 2) = 0
                    then trunc(value, places)
                else round(value, places)
            end
        $$
    """)
    for table, columns in TABLES.items():
        op.execute(f"create table {table} ({columns})")
    op.execute("create index mart_service_interval_customer on mart.mart_service_interval (customer_id)")


def downgrade() -> None:
    for table in reversed(list(TABLES)):
        op.execute(f"drop table {table}")
    op.execute("drop function mart.round_half_even(numeric, integer)")

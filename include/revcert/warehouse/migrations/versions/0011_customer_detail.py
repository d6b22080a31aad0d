"""The detail behind the bridge, certified and published: customers, their lines and contracts.

Revision ID: 0011
Revises: 0010

- Each customer-month (starting MRR, movement, ending MRR, recognised
  revenue), each line that carries a customer's MRR (with its contract,
  product, currency and the rate used), and each contract of a customer (the
  renewal chain that made it one customer, and any override) become mart
  models, published rows and certified figures: the independent derivation
  derives them too.
- A new check of Part C 3, `detail_sums`: the customer detail adds up to the
  bridge to the cent, and each customer's MRR to its lines.
- The page may read the raw versions of a record it publishes, and only those:
  `viz.record_versions(record_id)` runs with its owner's rights and returns
  nothing for a record no published row names.
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CUSTOMER_MONTH = """
    month date not null,
    customer_id text not null,
    business_unit text not null,
    customer_name text,
    currency text not null,
    snapshot_date date not null,
    starting_mrr numeric(18, 2) not null,
    movement_type text not null
        check (movement_type in ('new', 'expansion', 'contraction', 'churn', 'winback', 'none')),
    movement_amount numeric(18, 2) not null,
    ending_mrr numeric(18, 2) not null,
    recognized_revenue numeric(18, 2) not null,
    primary key (month, customer_id)"""

CUSTOMER_LINE = """
    subscription_line_id text primary key,
    customer_id text not null,
    contract_id text not null,
    product_id text,
    product_name text,
    currency_iso_code text,
    conversion_rate numeric not null,
    line_mrr numeric(18, 2) not null,
    service_start_date date not null,
    service_end_date date not null,
    mrr_end_date date not null"""

CUSTOMER_CONTRACT = """
    contract_id text primary key,
    customer_id text not null,
    account_id text,
    start_date date,
    end_date date,
    renews_contract_ids text[] not null,
    is_overridden boolean not null,
    override_reason text,
    override_approver text"""

CERTIFIED = """,
    certification_id bigint not null references certification.certification_run,
    certified_at timestamptz not null"""

TABLES = {"customer_month": CUSTOMER_MONTH, "customer_line": CUSTOMER_LINE, "customer_contract": CUSTOMER_CONTRACT}

# Only records a published row names; each object's versions in the order they were received.
RECORD_VERSIONS = """
    create function viz.record_versions(wanted_record_id text)
    returns table (
        object_name text,
        record_id text,
        batch_id bigint,
        extraction_mode text,
        extraction_started_at timestamptz,
        system_modstamp timestamptz,
        is_deleted boolean,
        received_at timestamptz,
        record jsonb
    )
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select
            versions.object_name,
            versions.record_id,
            versions.batch_id,
            batches.mode,
            batches.started_at,
            versions.system_modstamp,
            versions.is_deleted,
            versions.received_at,
            versions.record
        from raw.salesforce_record as versions
        inner join raw.extraction_batch as batches
            on versions.batch_id = batches.batch_id
        where
            versions.record_id = wanted_record_id
            and (
                exists (select 1 from viz.customer_month where customer_id = wanted_record_id)
                or exists (select 1 from viz.customer_line
                           where subscription_line_id = wanted_record_id or product_id = wanted_record_id)
                or exists (select 1 from viz.customer_contract
                           where contract_id = wanted_record_id or account_id = wanted_record_id)
            )
        order by versions.received_at, versions.batch_id
    $$
"""


def upgrade() -> None:
    for name, columns in TABLES.items():
        op.execute(f"create table mart.mart_{name} ({columns})")
        op.execute(f"create table viz.{name} ({columns}{CERTIFIED})")
    op.execute("create index customer_month_movement on viz.customer_month (month, business_unit, movement_type)")
    op.execute("create index customer_month_customer on viz.customer_month (customer_id, month)")
    op.execute("create index customer_line_customer on viz.customer_line (customer_id)")
    op.execute("create index customer_contract_customer on viz.customer_contract (customer_id)")
    op.execute("create index salesforce_record_record_id on raw.salesforce_record (record_id)")
    op.execute(RECORD_VERSIONS)
    op.execute("revoke all on function viz.record_versions(text) from public")
    op.execute("grant execute on function viz.record_versions(text) to revcert_viz_reader")
    op.execute("insert into certification.check_definition values ('detail_sums', 3, true, $$The customer detail "
               "published with the bridge adds up to it to the cent, and each customer's MRR to its lines.$$)")


def downgrade() -> None:
    op.execute("delete from certification.check_result where check_name = 'detail_sums'")
    op.execute("delete from certification.check_definition where check_name = 'detail_sums'")
    op.execute("drop function viz.record_versions(text)")
    op.execute("drop index raw.salesforce_record_record_id")
    for name in TABLES:
        op.execute(f"drop table viz.{name}")
        op.execute(f"drop table mart.mart_{name}")

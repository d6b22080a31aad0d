"""The customer detail in viz carries its certification through its month or its publication, not in each row.

Revision ID: 0018
Revises: 0017

Each customer-month, line and contract row used to carry the certification
that published it, so every publication rewrote every row (675,748
customer-months at 200,000 lines) even when a handful had changed. A month's
rows are all published by one certification, the one its bridge total
carries; the lines and contracts are all those of the latest certification
that published. So the rows are kept in `viz.<name>_figures` without a stamp,
publishing rewrites only the rows that changed, and `viz.customer_month`,
`viz.customer_line` and `viz.customer_contract` become views that read the
same columns as before: the month's certification from `viz.mrr_bridge_total`,
the lines' and contracts' from `viz.customer_detail_certification`.
"""
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

DETAIL = ("customer_month", "customer_line", "customer_contract")

CUSTOMER_MONTH = """
    create view viz.customer_month as
    select
        figures.month,
        figures.customer_id,
        figures.business_unit,
        figures.customer_name,
        figures.currency,
        figures.snapshot_date,
        figures.starting_mrr,
        figures.movement_type,
        figures.movement_amount,
        figures.ending_mrr,
        figures.recognized_revenue,
        published.certification_id,
        published.certified_at
    from viz.customer_month_figures as figures
    inner join viz.mrr_bridge_total as published
        on figures.month = published.month
"""

CUSTOMER_LINE = """
    create view viz.customer_line as
    select
        figures.subscription_line_id,
        figures.customer_id,
        figures.contract_id,
        figures.product_id,
        figures.product_name,
        figures.currency_iso_code,
        figures.conversion_rate,
        figures.line_mrr,
        figures.service_start_date,
        figures.service_end_date,
        figures.mrr_end_date,
        published.certification_id,
        published.certified_at
    from viz.customer_line_figures as figures
    cross join viz.customer_detail_certification as published
"""

CUSTOMER_CONTRACT = """
    create view viz.customer_contract as
    select
        figures.contract_id,
        figures.customer_id,
        figures.account_id,
        figures.start_date,
        figures.end_date,
        figures.renews_contract_ids,
        figures.is_overridden,
        figures.override_reason,
        figures.override_approver,
        published.certification_id,
        published.certified_at
    from viz.customer_contract_figures as figures
    cross join viz.customer_detail_certification as published
"""

# A month's rows carried the certification of its bridge total (publishing replaced both together); a row
# that does not would lose its provenance here, so the upgrade stops and says which.
STAMPS_AGREE = """
    do $$
    declare
        disagreeing bigint;
    begin
        select count(*) into disagreeing
        from viz.customer_month as detail
        left join viz.mrr_bridge_total as published
            on detail.month = published.month
        where published.certification_id is distinct from detail.certification_id;
        if disagreeing > 0 then
            raise exception '% published customer-months carry another certification than their month''s bridge',
                disagreeing;
        end if;
        select count(distinct certification_id) into disagreeing
        from (
            select certification_id from viz.customer_line
            union
            select certification_id from viz.customer_contract
        ) as lineage;
        if disagreeing > 1 then
            raise exception 'the published lines and contracts carry % certifications, not one', disagreeing;
        end if;
    end
    $$
"""


def upgrade() -> None:
    op.execute(STAMPS_AGREE)
    op.execute("""
        create table viz.customer_detail_certification (
            certification_id bigint primary key references certification.certification_run,
            certified_at timestamptz not null
        )
    """)
    op.execute("""
        insert into viz.customer_detail_certification
        select certification_id, certified_at from viz.customer_line
        union
        select certification_id, certified_at from viz.customer_contract
    """)
    for name in DETAIL:
        op.execute(f"alter table viz.{name} rename to {name}_figures")
        op.execute(f"alter table viz.{name}_figures rename constraint {name}_pkey to {name}_figures_pkey")
        op.execute(f"alter table viz.{name}_figures drop column certification_id, drop column certified_at")
    for view in (CUSTOMER_MONTH, CUSTOMER_LINE, CUSTOMER_CONTRACT):
        op.execute(view)
    op.execute("grant select on viz.customer_month, viz.customer_line, viz.customer_contract, "
               "viz.customer_detail_certification to revcert_viz_reader")


def downgrade() -> None:
    for name in DETAIL:
        op.execute(f"drop view viz.{name}")
        op.execute(f"alter table viz.{name}_figures rename to {name}")
        op.execute(f"alter table viz.{name} rename constraint {name}_figures_pkey to {name}_pkey")
        op.execute(f"alter table viz.{name} add column certification_id bigint "
                   "references certification.certification_run, add column certified_at timestamptz")
    op.execute("""
        update viz.customer_month as detail
        set certification_id = published.certification_id, certified_at = published.certified_at
        from viz.mrr_bridge_total as published
        where detail.month = published.month
    """)
    for name in ("customer_line", "customer_contract"):
        op.execute(f"""
            update viz.{name}
            set certification_id = published.certification_id, certified_at = published.certified_at
            from viz.customer_detail_certification as published
        """)
    for name in DETAIL:
        op.execute(f"alter table viz.{name} alter column certification_id set not null, "
                   "alter column certified_at set not null")
    op.execute("drop table viz.customer_detail_certification")

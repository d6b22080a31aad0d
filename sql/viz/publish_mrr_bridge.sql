-- Write the mart's certified bridge for the replaced months into
-- viz.mrr_bridge (SPEC.md, published contract), each row carrying its
-- certification. The caller has removed those months first, in the same transaction.
with incoming as (
    select
        month,
        business_unit,
        starting_mrr,
        new,
        expansion,
        contraction,
        churn,
        winback,
        ending_mrr,
        recognized_revenue,
        active_customers,
        snapshot_date
    from mart.mart_mrr_bridge
    where month = any(%(months)s)
),

certification as (
    select
        certification_id,
        certified_at
    from certification.certification_run
    where certification_id = %(certification_id)s
        and status = 'certified'
)

insert into viz.mrr_bridge
select
    incoming.*,
    certification.certification_id,
    certification.certified_at
from incoming
cross join certification

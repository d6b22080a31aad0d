-- The recorded history of a shop's days (issue 14): the latest observation of each metric for each
-- local day from %(weeks)s weeks before the first day in scope to the last, from earlier runs. A day
-- observed again (recomputed by a later run) counts once, as last observed.
-- Grain: one row per metric and local day.
with observed as (
    select distinct on (metric, observed_day)
        metric,
        observed_day,
        value
    from monitoring.observation
    where
        dag_id = %(dag_id)s
        and point = 'figures'
        and subject = %(shop_id)s
        and observed_day between %(from_day)s::date - 7 * %(weeks)s and %(to_day)s::date
        and certification_id <> %(certification_id)s
    order by metric asc, observed_day asc, observed_at desc, observation_id desc
),

final as (
    select * from observed
)

select * from final

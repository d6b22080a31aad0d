-- The recorded history a run's metrics are compared with (issue 14): the latest earlier observations of
-- each metric and subject of one pipeline at one observation point, the newest %(history_window)s of each. A
-- batch metric is compared only with batches read the same way (full, incremental or a range): a full
-- read is not an unusual incremental one. The run's own observations are never its history.
-- Grain: one row per earlier observation kept.
with observed as (
    select
        observation_id,
        metric,
        subject,
        value,
        observed_at
    from monitoring.observation
    where
        dag_id = %(dag_id)s
        and point = %(point)s
        and certification_id <> %(certification_id)s
        and (%(batch_mode)s::text is null or batch_mode = %(batch_mode)s)
        and (%(subject)s::text is null or subject = %(subject)s)
),

ranked as (
    select
        metric,
        subject,
        value,
        observed_at,
        row_number() over (
            partition by metric, subject
            order by observed_at desc, observation_id desc
        ) as recency
    from observed
),

final as (
    select
        metric,
        subject,
        value,
        observed_at
    from ranked
    where recency <= %(history_window)s
)

select * from final

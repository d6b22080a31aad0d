-- The latest certifications (of one pipeline, or one shop, or all), each with its checks.
-- Grain: one row per certification.
with history as (
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
        is_restatement,
        closed_at,
        published_months,
        withdrawn_months,
        scope
    from viz.certification_history
    where
        (%(dag_id)s::text is null or dag_id = %(dag_id)s)
        and (%(scope)s::text is null or scope = %(scope)s)
),

checks as (
    select
        certification_id,
        jsonb_agg(
            jsonb_build_object(
                'check_name', check_name,
                'passed', passed,
                'summary', summary,
                'discrepancies', discrepancies
            )
            order by checked_at, check_name
        ) as checks
    from viz.certification_check
    group by certification_id
),

final as (
    select
        history.*,
        coalesce(checks.checks, '[]'::jsonb) as checks
    from history
    left join checks
        on history.certification_id = checks.certification_id
    order by history.certification_id desc
    limit %(limit)s
)

select * from final

-- Dated conversion rates of one currency whose periods overlap: a line starting
-- in the overlap would have two rates, and A2 gives a line exactly one.
select
    later.dated_conversion_rate_id as record_id,
    format(
        '%s from %s to %s overlaps rate %s (from %s to %s)',
        later.iso_code, later.start_date, coalesce(later.next_start_date::text, 'open'),
        earlier.dated_conversion_rate_id, earlier.start_date, coalesce(earlier.next_start_date::text, 'open')
    ) as detail
from staging.stg_dated_conversion_rate as earlier
inner join staging.stg_dated_conversion_rate as later
    on
        earlier.iso_code = later.iso_code
        and earlier.dated_conversion_rate_id < later.dated_conversion_rate_id
        and later.start_date < coalesce(earlier.next_start_date, 'infinity'::date)
        and earlier.start_date < coalesce(later.next_start_date, 'infinity'::date)
order by later.dated_conversion_rate_id

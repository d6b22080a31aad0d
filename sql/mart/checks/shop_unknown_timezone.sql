-- A shop whose timezone is not an IANA name PostgreSQL knows: it has no local days.
select
    shop_id as record_id,
    format('ianaTimezone %%s', coalesce(iana_timezone, 'missing')) as detail
from mart.mart_shop
where
    shop_id = %(shop_id)s
    and not is_timezone_known

-- The shops a reconciliation can compare: those with certified figures published. A shop never
-- published has nothing stored to drift; its first run is the certification's job.
-- Grain: one row per published shop.
select shop_id
from viz.shop
order by shop_id

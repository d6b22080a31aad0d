-- Every raw version of a Salesforce record that a published row names, oldest
-- first, with the extraction that read it. viz.record_versions returns nothing
-- for any other record: the page's login reads raw through it only.
-- Grain: one row per extracted version of the record.
select *
from viz.record_versions(%(record_id)s::text)

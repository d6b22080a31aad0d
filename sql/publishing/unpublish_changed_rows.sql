-- Remove from a viz table the rows that change (changed_rows, just found in
-- the same transaction): those shown that the certified figures coming in do
-- not hold exactly as shown.
-- Grain: the viz table's.
delete from {viz_table} as published
using pg_temp.changed_rows as changed
where
    {same_key}
    and changed.is_shown

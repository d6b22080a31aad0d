-- The contracts the changed lines belong to before this build, read before
-- their rows are replaced: a line moved to another contract, or deleted,
-- changes its old contract's renewal grace (revcert.methodology.mart).
-- Grain: one row per contract.
select distinct contract_id
from mart.mart_subscription_line
where
    contract_id is not null
    and subscription_line_id in (select mart_line_scope.subscription_line_id from mart.mart_line_scope)

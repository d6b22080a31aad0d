-- Close every earlier open discrepancy of a shop-day this reconciliation found equal to the source
-- again (B5: the repair closed it). A shop-day still apart stays open.
update monitoring.reconciliation_result as earlier
set closed_by_reconciliation_run_id = %(reconciliation_run_id)s
from monitoring.reconciliation_result as latest
where
    latest.reconciliation_run_id = %(reconciliation_run_id)s
    and latest.status = 'match'
    and earlier.shop_id = latest.shop_id
    and earlier.day = latest.day
    and earlier.status = 'discrepancy'
    and earlier.closed_by_reconciliation_run_id is null
    and earlier.reconciliation_run_id < %(reconciliation_run_id)s

-- The parts of the proven sums of some customers with a proof under one
-- basis: what the derivation takes out of the total before it sums them
-- afresh (revcert.certification.detail_proofs).
select
    customer_id,
    sums_contribution
from certification.customer_detail_proof
where
    basis_digest = %(basis_digest)s
    and customer_id = any(%(customer_ids)s)

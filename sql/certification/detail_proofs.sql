-- Check 4's proofs made under one basis (as-of date, renewal grace, code),
-- one per customer: the digest of the inputs its detail was derived from and
-- of the mart rows a row-by-row comparison found equal to it
-- (revcert.certification.detail_proofs).
select
    customer_id,
    inputs_digest,
    detail_digest
from certification.customer_detail_proof
where basis_digest = %(basis_digest)s

-- The independent derivation's bridge and cohort sums over every customer
-- with a proof under one basis, as the last passing check 4 summed them
-- (revcert.certification.detail_proofs).
select total
from certification.proven_sums
where basis_digest = %(basis_digest)s

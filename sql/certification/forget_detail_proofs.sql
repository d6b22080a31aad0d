-- Before a passing check 4 records its proofs: forget those it replaces (the
-- customers it compared row by row), those of customers without detail now,
-- and those made under another basis, which can never hold again.
delete from certification.customer_detail_proof
where
    customer_id = any(%(compared)s)
    or not customer_id = any(%(customers)s)
    or basis_digest <> %(basis_digest)s

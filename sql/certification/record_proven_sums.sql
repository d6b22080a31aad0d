-- A passing check 4's sums become its basis's proven sums; those of any
-- other basis can never hold again.
with forgotten as (
    delete from certification.proven_sums
    where basis_digest <> %(basis_digest)s
)

insert into certification.proven_sums (basis_digest, total, certification_id)
values (%(basis_digest)s, %(total)s, %(certification_id)s)
on conflict (basis_digest) do update
    set
        total = excluded.total,
        certification_id = excluded.certification_id

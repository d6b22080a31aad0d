-- How many customers a certification's check 4 compared row by row: the
-- proofs it recorded (revcert.certification.detail_proofs).
select count(*) as customers_compared
from certification.customer_detail_proof
where certification_id = %(certification_id)s

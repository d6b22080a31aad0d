"""Check 4's proofs: per customer, the inputs and the published detail a comparison found equal.

Check 4 reads every customer's records from staging on every run. Deriving
each customer's detail rows and comparing them with the mart's is much of its
time, and after a day's later run most customers' detail is what an earlier
comparison already found equal. A proof records, for one customer, the
digest of what the derivation derived its detail from (`customer_inputs_digest`, the derivation's
own code) and the digest of the mart's rows that equalled it (PostgreSQL's
row text, `fingerprint.customer_digests`), under a basis (the as-of date, the
renewal grace and the checks' code), and the certification that compared
them. A later check 4 on an incrementally built mart, under the same basis,
makes and compares the rows of only the customers whose inputs digest or
mart rows differ from their proof: for the others the same inputs give the
same detail, and the rows are the very ones that equalled it. A whole build is compared in
full, and its passing check 4 proves every customer again.

A proof also keeps the customer's part of the bridge and cohort sums as the
derivation summed it, and the basis keeps the derivation's sums over every
customer with a proof (`certification.proven_sums`). A later check 4 under
the same basis leaves a customer whose proof holds (its inputs and mart rows
are its proof's) in that total, takes every other proven customer out of it by
its part, and sums afresh only the customers it derives anew
(`independent_derivation.ProvenSums`): the bridge and cohorts are still
compared whole, from sums the derivation made.
"""
from __future__ import annotations

import hashlib
import pickle
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from importlib.resources import files
from pathlib import Path

import psycopg

from revcert.certification import independent_derivation
from revcert.certification.fingerprint import CustomerDigests, customer_detail_digests
from revcert.certification.independent_derivation import ProvenSums
from revcert.sqlfiles import load_sql
from revcert.warehouse import schema


def _code_version() -> str:
    """SHA-256 of the code the checks run: the certification package, the schema (the columns compared and
    hashed), the certification SQL, and the Python that runs them. Taken when this module is imported, so a
    process that loaded older code never vouches under the newer code's version."""
    digest = hashlib.sha256(repr(sys.version_info[:2]).encode())
    package = Path(independent_derivation.__file__).parent
    for source in [*sorted(package.glob("*.py")), Path(schema.__file__)]:
        digest.update(source.read_bytes())
    for query in sorted(files("revcert.sql").joinpath("certification").iterdir(), key=lambda f: f.name):
        digest.update(query.read_bytes())
    return digest.hexdigest()


CODE_VERSION = _code_version()


def derivation_basis(as_of: date, renewal_grace_days: int) -> bytes:
    """What every customer's detail depends on besides its own records: a proof holds under its basis only."""
    return hashlib.sha256(pickle.dumps((CODE_VERSION, as_of, renewal_grace_days), protocol=5)).digest()


@dataclass
class DetailProofs:
    """The proofs one check 4 may rely on, and what it learns.

    Attributes:
        basis: this run's `derivation_basis`; only proofs made under it are read.
        scoped: compare only the customers without a proof that holds.
        vouched: customer -> (inputs digest, detail digest) of its proof.
        mart_digests: the mart's detail per customer now, hashed per table (may wait for the server to hash
            it).
        proven: the derivation's sums over the vouched customers, and their parts (None: sum every customer).
        inputs: every customer the derivation gave detail, with its inputs digest.
        compared: the customers whose detail was compared with the mart's.
        contributions: each compared customer's part of the sums.
        total: the derivation's sums over every customer in `inputs`, once it has summed them.
    """

    basis: bytes
    scoped: bool
    vouched: dict[str, tuple[bytes, bytes]]
    mart_digests: Callable[[], dict[str, CustomerDigests]]
    proven: ProvenSums | None = None
    inputs: dict[str, bytes] = field(default_factory=dict)
    compared: set[str] = field(default_factory=set)
    contributions: dict[str, str] = field(default_factory=dict)
    total: str = ""

    @cached_property
    def mart_now(self) -> dict[str, bytes]:
        """Each customer's digest of its mart detail now (waited for once, where first needed)."""
        return customer_detail_digests(self.mart_digests())

    @property
    def mart_customers(self) -> set[str]:
        """The customers with rows in the mart's detail."""
        return set(self.mart_now)

    def needs_comparison(self, customer_id: str, inputs_digest: bytes) -> bool:
        """Compare the customer's detail unless its proof holds: the same inputs and the same mart rows."""
        return not self.scoped or self.vouched.get(customer_id) != (inputs_digest, self.mart_now.get(customer_id))

    def detail_changed(self) -> list[str] | None:
        """The customers whose detail in the mart is not their proof's (None, every customer, if not scoped)."""
        if not self.scoped:
            return None
        return sorted(customer_id for customer_id, digest in self.mart_now.items()
                      if self.vouched.get(customer_id, (None, None))[1] != digest)

    def note_derived(self, customer_id: str, inputs_digest: bytes, compared: bool, contribution: str) -> None:
        """A customer the derivation gave detail, compared (with its part of the sums) or not."""
        self.inputs[customer_id] = inputs_digest
        if compared:
            self.compared.add(customer_id)
            self.contributions[customer_id] = contribution


def _proofs_under(conn: psycopg.Connection, basis: bytes) -> dict[str, tuple[bytes, bytes]]:
    """customer -> (inputs digest, detail digest) of each proof made under `basis`."""
    return {customer_id: (inputs, detail) for customer_id, inputs, detail
            in conn.execute(load_sql("certification", "detail_proofs"), {"basis_digest": basis})}


def read_proofs(conn: psycopg.Connection, as_of: date, renewal_grace_days: int, scoped: bool,
                mart_digests: Callable[[], dict[str, CustomerDigests]]) -> DetailProofs:
    """The proofs in the warehouse made under this run's basis; scoped only if asked and there are any (a check
    that compares every customer does not read them)."""
    basis = derivation_basis(as_of, renewal_grace_days)
    vouched = _proofs_under(conn, basis) if scoped else {}
    total = (conn.execute(load_sql("certification", "proven_sums"), {"basis_digest": basis}).fetchone()
             if vouched else None)
    proven = ProvenSums(total[0], frozenset(vouched), lambda customer_ids: _contributions(conn, basis, customer_ids)
                        ) if total else None
    return DetailProofs(basis, scoped and bool(vouched), vouched, mart_digests, proven)


def _contributions(conn: psycopg.Connection, basis: bytes, customer_ids: list[str]) -> Iterable[str]:
    """The parts of the sums that the proofs of `customer_ids` under `basis` recorded: one each, or an error
    naming the customers without one (the proven total would still hold them)."""
    found = dict(conn.execute(load_sql("certification", "proven_contributions"),
                              {"basis_digest": basis, "customer_ids": customer_ids}).fetchall())
    if missing := sorted(set(customer_ids) - found.keys()):
        raise RuntimeError(f"proven_sums_without_part: no recorded part of the sums for {len(missing)} customer(s) "
                           f"in the proven sums: {', '.join(missing[:10])}")
    return found.values()


def proven_detail_digests(conn: psycopg.Connection, as_of: date, renewal_grace_days: int) -> dict[str, bytes]:
    """Each customer's detail digest in its proof under this basis: after a check 4 passed, the digests of the
    mart it compared (publishing, which relies on them, checks them against the mart's own digests before it
    returns)."""
    return {customer_id: detail for customer_id, (_, detail)
            in _proofs_under(conn, derivation_basis(as_of, renewal_grace_days)).items()}


def record_proofs(conn: psycopg.Connection, proofs: DetailProofs, certification_id: int) -> None:
    """After checks 3 and 4 passed: a proof for each customer whose detail check 4 compared; none for a customer
    that no longer has detail, nor under another basis. The other proofs held, and stay. The basis's sums become
    the derivation's sums of this check 4: over every customer with a proof now."""
    compared, mart_now = sorted(proofs.compared), proofs.mart_now  # the digests first: a COPY holds the connection
    conn.execute(load_sql("certification", "forget_detail_proofs"),
                 {"basis_digest": proofs.basis, "compared": compared, "customers": list(proofs.inputs)})
    with conn.cursor().copy("copy certification.customer_detail_proof (customer_id, inputs_digest, "
                            "detail_digest, sums_contribution, basis_digest, certification_id) from stdin") as copy:
        for customer_id in compared:
            copy.write_row((customer_id, proofs.inputs[customer_id], mart_now[customer_id],
                            proofs.contributions[customer_id], proofs.basis, certification_id))
    conn.execute(load_sql("certification", "record_proven_sums"),
                 {"basis_digest": proofs.basis, "total": proofs.total, "certification_id": certification_id})

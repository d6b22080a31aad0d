"""The checks of METHODOLOGY.md Part C 1-4, each exact to the cent, each naming what failed."""
from __future__ import annotations

from datetime import date

import psycopg

from revcert.certification.detail_proofs import DetailProofs
from revcert.certification.figure_comparison import compare_with_mart
from revcert.certification.independent_derivation import DerivationError, read_staging
from revcert.certification.record import CheckResult
from revcert.methodology.errors import Offence, RuleFailure
from revcert.methodology.identity import movement_identity_breaks
from revcert.methodology.mart import check_methodology
from revcert.methodology.overrides import ClassificationOverride
from revcert.sqlfiles import load_sql
from revcert.staging.audit import read_batch_audit

_RECORD_IDS_SHOWN = 20
# A defect can make every row differ; the record keeps the first ones, the summary counts them all.
_DIFFERENCES_RECORDED = 500


def check_completeness(conn: psycopg.Connection, batch_id: int) -> CheckResult:
    """1. For every object, live records staged = the source's count; control sums equal."""
    audit = read_batch_audit(conn, batch_id)
    discrepancies = [
        {"object": row.object_name, "figure": "live record count", "expected": row.source_count,
         "actual": row.staged_count, "difference": row.staged_count - row.source_count}
        for row in audit.rows if not row.counts_match]
    discrepancies += [
        {"object": total.object_name, "figure": f"SUM({total.field_name})", "expected": total.source_sum,
         "actual": total.staged_sum, "difference": total.staged_sum - total.source_sum}
        for total in audit.control_sums if not total.matches]
    if not audit.rows:
        discrepancies.append({"object": "*", "figure": "audit", "expected": "a staged batch", "actual": "none"})
    passed = not discrepancies
    summary = (f"batch {batch_id}: {len(audit.rows)} objects, counts and control sums equal the source" if passed
               else f"batch {batch_id}: {len(discrepancies)} count or control sum differs from the source")
    return CheckResult("completeness", passed, summary, discrepancies)


MRR_RULES_HOLD = ("every recurring line classified, every currency rated, no negative customer MRR, one row per "
                  "customer and month, no unresolved chain")


def integrity_result(failures: list[RuleFailure], rules_hold: str = MRR_RULES_HOLD) -> CheckResult:
    """Check 2's result from the rules some records break (none: `rules_hold` says what held)."""
    discrepancies = [{"rule": f.rule, "record_id": o.record_id, "actual": o.detail, "record_ids": [o.record_id]}
                     for f in failures for o in f.offences[:_RECORD_IDS_SHOWN]]
    if not failures:
        return CheckResult("integrity", True, rules_hold)
    return CheckResult("integrity", False, "; ".join(f"{f.rule}: {len(f.offences)} record(s)" for f in failures),
                       discrepancies)


def check_integrity(conn: psycopg.Connection) -> CheckResult:
    """2. The methodology's rules hold, and every recurring line with MRR reached a customer."""
    failures = check_methodology(conn)
    unclassified = conn.execute(load_sql("certification", "unclassified_lines")).fetchall()
    if unclassified:
        failures.append(RuleFailure("unclassified_line", "C2 a recurring line with MRR has no customer",
                                    tuple(Offence(*row) for row in unclassified)))
    return integrity_result(failures)


def check_movement_identity(conn: psycopg.Connection) -> CheckResult:
    """3. Movements = ending - starting MRR, per month and business unit and in total."""
    breaks = movement_identity_breaks(conn)
    discrepancies = [{"month": b.month, "business_unit": b.business_unit or "TOTAL",
                      "expected": b.ending_minus_starting, "actual": b.movements, "difference": b.difference,
                      "record_ids": list(b.customer_ids[:_RECORD_IDS_SHOWN])} for b in breaks]
    if not breaks:
        return CheckResult("movement_identity", True, "movements equal ending minus starting MRR in every month "
                                                      "and business unit, and in total")
    return CheckResult("movement_identity", False, f"{len(breaks)} month(s) x business unit do not balance",
                       discrepancies)


def check_detail_sums(conn: psycopg.Connection, customers: list[str] | None = None) -> CheckResult:
    """3. The customer detail adds up to the bridge, and each customer-month's MRR to its lines, to the cent
    (the lines of `customers` only, if given: the others' detail is the one a passing check held to them)."""
    sums = conn.execute(load_sql("certification", "detail_sum_breaks")).fetchall()
    lineage = conn.execute(load_sql("certification", "lineage_breaks"), {"customers": customers}).fetchall()
    discrepancies = [{"month": month, "business_unit": unit or "TOTAL", "figure": figure, "expected": detail,
                      "actual": bridge, "difference": None if bridge is None else bridge - detail}
                     for month, unit, figure, bridge, detail in sums]
    discrepancies += [{"month": month, "business_unit": unit, "customer_id": customer, "figure": figure,
                       "expected": lines, "actual": value, "difference": value - lines, "record_ids": [customer]}
                      for month, unit, customer, figure, value, lines in lineage[:_RECORD_IDS_SHOWN]]
    if not discrepancies:
        return CheckResult("detail_sums", True, "the customer detail adds up to the bridge in every month and "
                                                "business unit, and each customer's MRR to its lines"
                           + ("" if customers is None else f" ({len(customers)} customers' detail held to its "
                              "lines again; every other customer's is the detail that held at its proof)"))
    return CheckResult("detail_sums", False, f"{len(sums)} bridge figure(s) differ from the sum of their customers; "
                                             f"{len(lineage)} customer-month(s) differ from their lines",
                       discrepancies)


def check_independent_derivation(conn: psycopg.Connection, as_of: date, renewal_grace_days: int,
                                 overrides: list[ClassificationOverride], proofs: DetailProofs | None = None,
                                 processes: int = 1) -> CheckResult:
    """4. A second implementation, reading staging directly, gives every published figure to the cent (each
    customer's detail compared by the digest of its rows, or with `proofs` those it has no proof for), in up to
    `processes` processes."""
    try:
        comparison = compare_with_mart(conn, read_staging(conn), as_of, renewal_grace_days, overrides, proofs,
                                       processes)
    except DerivationError as error:
        return CheckResult("independent_derivation", False, f"the derivation refused the data: {error}")
    differences = comparison.differences
    discrepancies = [{"table": d.table, "business_unit": "TOTAL", **d.where, "figure": d.figure,
                      "expected": d.derived, "actual": d.mart, "difference": d.difference}
                     for d in differences[:_DIFFERENCES_RECORDED]]
    customers = (f"{comparison.customers_compared} of {comparison.customers} customers' detail compared"
                 + ("" if comparison.customers_compared == comparison.customers else
                    ", the others' inputs and rows those their last comparison found equal")
                 + (f"; the rows of {comparison.customers_read} of them read and compared figure by figure (their "
                    "digests differed)" if comparison.customers_read else ""))
    if not differences:
        return CheckResult("independent_derivation", True,
                           f"{comparison.rows_compared} published rows (bridge, totals, cohorts, customers, lines, "
                           f"contracts) equal to the cent; {customers}")
    return CheckResult("independent_derivation", False,
                       f"{len(differences)} figure(s) differ from the independent derivation; {customers}",
                       discrepancies)

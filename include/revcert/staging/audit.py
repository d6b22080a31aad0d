"""The extraction audit of a batch, read back from staging and laid out for people."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg
from tabulate import tabulate

from revcert.sqlfiles import load_sql


@dataclass(frozen=True)
class AuditRow:
    object_name: str
    api: str
    replication: str
    records_fetched: int
    deleted_fetched: int
    watermark_before: datetime | None
    watermark_after: datetime | None
    source_count: int
    staged_count: int

    @property
    def counts_match(self) -> bool:
        return self.source_count == self.staged_count


@dataclass(frozen=True)
class ControlSum:
    object_name: str
    field_name: str
    source_sum: Decimal
    staged_sum: Decimal

    @property
    def matches(self) -> bool:
        return self.source_sum == self.staged_sum


@dataclass(frozen=True)
class BatchAudit:
    batch_id: int
    rows: list[AuditRow]
    control_sums: list[ControlSum]

    @property
    def complete(self) -> bool:
        """Source counts and control sums equal what was staged, for every object."""
        return all(r.counts_match for r in self.rows) and all(c.matches for c in self.control_sums)


def read_batch_audit(conn: psycopg.Connection, batch_id: int) -> BatchAudit:
    params = {"batch_id": batch_id}
    rows = [AuditRow(*r) for r in conn.execute(load_sql("staging/audit", "batch_audit"), params)]
    sums = [ControlSum(*r) for r in conn.execute(load_sql("staging/audit", "batch_control_sums"), params)]
    return BatchAudit(batch_id, rows, sums)


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def format_batch_audit(audit: BatchAudit) -> str:
    table = tabulate(
        [(r.object_name, r.api, r.records_fetched, r.deleted_fetched, _stamp(r.watermark_before),
          _stamp(r.watermark_after), r.source_count, r.staged_count, "ok" if r.counts_match else "MISMATCH")
         for r in audit.rows],
        headers=("object", "api", "fetched", "deleted", "watermark before", "watermark after", "source count",
                 "staged count", ""), disable_numparse=True, colalign=("left", "left", *["right"] * 6, "left"))
    lines = [f"Extraction audit, batch {audit.batch_id}", table]
    for total in audit.control_sums:
        lines.append(f"control sum {total.object_name}.{total.field_name}: source {total.source_sum} "
                     f"staged {total.staged_sum} {'ok' if total.matches else 'MISMATCH'}")
    lines.append("complete: every source count and control sum equals staging" if audit.complete
                 else "INCOMPLETE: staging does not match the source (see MISMATCH above)")
    return "\n".join(lines)

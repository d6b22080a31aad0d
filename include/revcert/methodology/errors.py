"""Failing loudly: one error that names every broken rule and every record behind it."""
from __future__ import annotations

from dataclasses import dataclass

_SHOWN_PER_RULE = 25


@dataclass(frozen=True)
class Offence:
    record_id: str
    detail: str


@dataclass(frozen=True)
class RuleFailure:
    """One rule and every record that breaks it."""

    rule: str
    description: str
    offences: tuple[Offence, ...]

    @property
    def record_ids(self) -> list[str]:
        return [o.record_id for o in self.offences]

    def describe(self) -> str:
        lines = [f"[{self.rule}] {self.description}: {len(self.offences)} record(s)"]
        lines += [f"    {o.record_id}: {o.detail}" for o in self.offences[:_SHOWN_PER_RULE]]
        if len(self.offences) > _SHOWN_PER_RULE:
            lines.append(f"    ... and {len(self.offences) - _SHOWN_PER_RULE} more: "
                         + ", ".join(self.record_ids[_SHOWN_PER_RULE:]))
        return "\n".join(lines)


class MethodologyError(RuntimeError):
    """Source records the methodology cannot turn into a number; nothing is produced."""

    def __init__(self, failures: list[RuleFailure]) -> None:
        self.failures = failures
        super().__init__("the methodology refuses to produce a number; fix the source records or add a "
                         "classification override:\n" + "\n".join(f.describe() for f in failures))

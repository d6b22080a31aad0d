"""What a benchmark step measured, how a step runs in a process of its own, and how figures print."""
from __future__ import annotations

import json
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StepFigures:
    step: str
    seconds: float
    peak_mib: float
    records: int | None = None
    unit: str = "rows"
    detail: str = ""

    @property
    def records_per_second(self) -> float | None:
        return self.records / self.seconds if self.records and self.seconds else None


def peak_mib() -> float:
    """This process's peak resident memory so far.

    Read from /proc (VmHWM, the high-water mark of this program's own memory): Linux carries
    `ru_maxrss` over from the parent across fork and exec, so a step would report the bench's own
    peak (the stand-in's orders) instead of its own.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_step(step: str, *args: str, unit: str = "rows", name: str | None = None) -> StepFigures:
    """Run one measured step in a fresh interpreter; it prints its figures as one JSON line."""
    completed = subprocess.run([sys.executable, "-m", "revcert.bench", step, *args], capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark step {step} failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return StepFigures(name or step, result["seconds"], result["peak_mib"], result.get("records"), unit,
                       result.get("detail", ""))


def format_figures(title: str, figures: list[StepFigures], notes: list[str] = ()) -> str:
    rows = [f"benchmark: {title}"]
    for step in figures:
        rate = f"{step.records_per_second:,.0f} {step.unit}/s" if step.records_per_second else ""
        rows.append(f"  {step.step:<34} {step.seconds:8.1f} s  peak {step.peak_mib:8.0f} MiB  "
                    f"{step.records or '':>9} {step.unit if step.records else '':<6}  {rate}"
                    + (f"  ({step.detail})" if step.detail else ""))
    return "\n".join([*rows, *(f"  {note}" for note in notes)])

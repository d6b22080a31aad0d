"""What a benchmark step measured, how a step runs in a process of its own, and how figures print."""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from statistics import median
from typing import Any


@dataclass(frozen=True)
class StepFigures:
    """One step's figures; `parts` are the seconds of its parts (a model each), `runs` the seconds of each run
    when the figures are the median of several."""

    step: str
    seconds: float
    peak_mib: float
    records: int | None = None
    unit: str = "rows"
    detail: str = ""
    parts: dict[str, float] = field(default_factory=dict)
    runs: tuple[float, ...] = ()

    @property
    def records_per_second(self) -> float | None:
        return self.records / self.seconds if self.records and self.seconds else None


@dataclass(frozen=True)
class Goal:
    """A figure beside the goal set for it: `value` in `unit` (s, MiB, records/s, % or "" for a ratio)."""

    figure: str
    value: float
    limit: float
    unit: str = ""
    at_most: bool = True

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit


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


# How often the memory of a step's forked copies is read: they grow steadily, and reading costs the kernel a walk
# of their pages.
_COPIES_SAMPLED_EVERY = 0.2


class ForkedCopiesMemory:
    """The most memory this process's children held privately at once, read from /proc every
    `_COPIES_SAMPLED_EVERY` seconds while the block runs (in a thread beside it).

    A child forked from this process shares its pages until either writes them. Its resident size would count
    the shared pages twice; what it holds privately (`Private_Clean` + `Private_Dirty` in smaps_rollup) is what
    it adds. A step's own high-water mark plus this is an upper bound of the step's memory: the two peaks may not
    coincide.
    """

    def __init__(self) -> None:
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="forked copies' memory", daemon=True)

    def __enter__(self) -> ForkedCopiesMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(_COPIES_SAMPLED_EVERY):
            self.peak_mib = max(self.peak_mib, sum(map(_private_mib, _children())))

    def __str__(self) -> str:
        return f"its forked copies held at most {self.peak_mib:,.0f} MiB of their own"


def _children() -> list[str]:
    return [pid for task in Path("/proc/self/task").iterdir() for pid in _read(task / "children").split()]


def _read(path: Path) -> str:
    """A /proc file's text; empty if its thread or process ended meanwhile."""
    try:
        return path.read_text()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _private_mib(pid: str) -> float:
    rollup = _read(Path(f"/proc/{pid}/smaps_rollup"))
    return sum(int(line.split()[1]) for line in rollup.splitlines()
               if line.startswith(("Private_Clean:", "Private_Dirty:"))) / 1024


def run_step(step: str, *args: str, unit: str = "rows", name: str | None = None) -> StepFigures:
    """Run one measured step in a fresh interpreter; it prints its figures as one JSON line."""
    completed = subprocess.run([sys.executable, "-m", "revcert.bench", step, *args], capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark step {step} failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return StepFigures(name or step, result["seconds"], result["peak_mib"], result.get("records"), unit,
                       result.get("detail", ""), result.get("parts", {}))


def median_of_runs(runs: Sequence[StepFigures]) -> StepFigures:
    """Several runs of one step as one: the median time (of each part too) and the highest peak memory."""
    return replace(runs[0], seconds=median(run.seconds for run in runs), peak_mib=max(run.peak_mib for run in runs),
                   parts={name: median(run.parts[name] for run in runs) for name in runs[0].parts},
                   runs=tuple(run.seconds for run in runs))


def _shown(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:,.1f} s"
    if unit == "%":
        return f"{value:.1f}%"
    if unit:
        return f"{value:,.0f} {unit}"
    return f"{value:.2f}"


def format_goal(goal: Goal) -> str:
    unit = goal.unit if goal.unit in ("", "%") else f" {goal.unit}"
    limit = f"{'<=' if goal.at_most else '>='} {goal.limit:,g}{unit}"
    verdict = "met" if goal.met else "not met"
    return f"{goal.figure:<44} {_shown(goal.value, goal.unit):>18}   goal {limit:<20} {verdict}"


def format_figures(title: str, figures: list[StepFigures], notes: Sequence[str] = (), goals: Sequence[Goal] = (),
                   goals_title: str = "goals") -> str:
    rows = [f"benchmark: {title}"]
    for step in figures:
        rate = f"{step.records_per_second:,.0f} {step.unit}/s" if step.records_per_second else ""
        runs = f"median of {len(step.runs)} runs: {', '.join(f'{s:.1f}' for s in step.runs)} s" if step.runs else ""
        detail = "; ".join(text for text in (runs, step.detail) if text)
        rows.append(f"  {step.step:<34} {step.seconds:8.1f} s  peak {step.peak_mib:8.0f} MiB  "
                    f"{step.records or '':>9} {step.unit if step.records else '':<6}  {rate}"
                    + (f"  ({detail})" if detail else ""))
        rows += [f"    {part:<32} {seconds:8.2f} s"
                 for part, seconds in sorted(step.parts.items(), key=lambda item: item[1], reverse=True)]
    if goals:
        rows += [f"  {goals_title}", *(f"    {format_goal(goal)}" for goal in goals)]
    return "\n".join([*rows, *(f"  {note}" for note in notes)])

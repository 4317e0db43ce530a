"""Measure every behavioural claim the graders and the notebooks' prose rely on.

Each assignment's `grader_tests/<assignment>/claims.py` defines `CLAIMS`, a list of
`Claim`s. A claim is a statistic measured with the *reference* implementation on
one seed, and a threshold the graders and the prose assume it clears on every
seed. `nnkit calibrate` measures each claim over N seeds on the available device
and writes `calibration/<device>.md` and `.json`: threshold, min / median / max,
the margin to the threshold, the device and the torch version.
"""
from __future__ import annotations

import importlib.util
import json
import operator
import platform
import statistics
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

from nnkit.grading.course import Course

OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


@dataclass
class Claim:
    name: str
    statistic: str
    op: str  # one of OPS
    threshold: float
    measure: Callable  # (seed: int, device) -> float
    seeds_offset: int = 0

    def holds(self, value: float) -> bool:
        return OPS[self.op](value, self.threshold)


@dataclass
class ClaimResult:
    assignment: str
    claim: str
    statistic: str
    op: str
    threshold: float
    minimum: float
    median: float
    maximum: float
    margin: float
    holds_on: int
    seeds: int

    @property
    def holds(self) -> bool:
        return self.holds_on == self.seeds


def load_claims(course: Course, assignment: str) -> list[Claim]:
    path = course.grader_dir(assignment) / "claims.py"
    if not path.exists():
        return []
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(f"{assignment}_claims", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return list(module.CLAIMS)


def measure(claim: Claim, assignment: str, seeds: int, device) -> ClaimResult:
    values = [float(claim.measure(seed, device)) for seed in range(seeds)]
    return summarise(assignment, claim.name, claim.statistic, claim.op, claim.threshold, values)


def summarise(assignment: str, name: str, statistic: str, op: str, threshold: float,
              values: list[float]) -> ClaimResult:
    """A claim's result from its value on each seed (`measure`; `nnkit.gpu_check` measures the
    seeds in several processes and puts them together here)."""
    lo, hi = min(values), max(values)
    margin = lo - threshold if op.startswith(">") else threshold - hi
    return ClaimResult(assignment, name, statistic, op, threshold, lo, statistics.median(values), hi, margin,
                       sum(OPS[op](v, threshold) for v in values), len(values))


def calibrate(course: Course, assignments: list[str], seeds: int, device) -> list[ClaimResult]:
    todo = [(a, c) for a in assignments for c in load_claims(course, a)]
    results = []
    for assignment, claim in tqdm(todo, desc="claims", unit="claim"):
        sys.path.insert(0, str(course.grader_dir(assignment)))
        try:
            results.append(measure(claim, assignment, seeds, device))
        finally:
            sys.path.remove(str(course.grader_dir(assignment)))
    return results


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _merge(path: Path, results: list[ClaimResult]) -> list[ClaimResult]:
    """Keep the earlier rows of assignments not measured this time."""
    fresh = {r.assignment for r in results}
    try:
        earlier = [ClaimResult(**row) for row in json.loads(path.read_text())["claims"]]
    except (OSError, ValueError, KeyError, TypeError):
        earlier = []
    kept = [r for r in earlier if r.assignment not in fresh]
    return sorted(kept + results, key=lambda r: r.assignment)


def write_report(results: list[ClaimResult], folder: Path, device, *, not_reached: list[dict] = (),
                 keep_earlier: bool = True) -> Path:
    """Write `folder`/<cpu|cuda>.json and .md. `keep_earlier`: keep the rows of assignments not
    measured this time from the file there. `not_reached`: claims whose seeds were not all measured
    (dicts with assignment, claim, statistic, op, threshold, seeds_done, seeds and, where it was not
    the deadline, why), listed as such."""
    import torch

    kind = "cuda" if str(device).startswith("cuda") else "cpu"
    name = torch.cuda.get_device_name(0) if kind == "cuda" else platform.processor() or platform.machine()
    header = {"device": f"{kind} ({name})", "torch": torch.__version__,
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "seeds": max((r.seeds for r in results), default=0)}
    folder.mkdir(parents=True, exist_ok=True)
    results = _merge(folder / f"{kind}.json", results) if keep_earlier else sorted(results, key=lambda r: r.assignment)
    extra = {"not_reached": [dict(row) for row in not_reached]} if not_reached else {}
    (folder / f"{kind}.json").write_text(json.dumps({**header, "claims": [asdict(r) for r in results], **extra},
                                                    indent=1))
    lines = [f"# Calibration on {header['device']}", "",
             f"torch {header['torch']}, {header['seeds']} seeds, measured {header['date']} with `nnkit calibrate`.",
             "Each claim is measured with the reference implementation; the margin is how far the worst seed",
             "stays from the threshold the graders and the notebooks' prose use.", "",
             "| assignment | claim | statistic | threshold | min | median | max | margin | holds |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.assignment} | {r.claim} | {r.statistic} | {r.op} {_fmt(r.threshold)} | {_fmt(r.minimum)} "
                     f"| {_fmt(r.median)} | {_fmt(r.maximum)} | {_fmt(r.margin)} | {r.holds_on}/{r.seeds} |")
    for row in not_reached:
        lines.append(f"| {row['assignment']} | {row['claim']} | {row['statistic']} | {row['op']} {_fmt(row['threshold'])} "
                     f"| | | | | {row.get('why', 'not reached in time')} ({row.get('seeds_done', 0)} of {row.get('seeds', header['seeds'])} seeds) |")
    path = folder / f"{kind}.md"
    path.write_text("\n".join(lines) + "\n")
    return path

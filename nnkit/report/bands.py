"""Reference bands: what the reference implementation measured over 10 seeds (`nnkit calibrate`).

A band is the [minimum, maximum] of one calibrated claim's statistic. Feedback
plots the student's own numbers against it, so that a student sees how far
their run is from a correct one. Only behavioural claims the graders check
are used (lists in `nnkit.report.views`), never a claim whose value is the
answer to a question of the notebook.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Band:
    claim: str
    statistic: str
    minimum: float
    median: float
    maximum: float
    seeds: int

    def holds(self, value: float | None) -> bool | None:
        """Is `value` inside the band (None when there is no value)?"""
        return None if value is None else self.minimum <= value <= self.maximum


def calibration_file(course_root: Path, device: str) -> Path | None:
    """calibration/<cpu|cuda>.json for the device the graders ran on; the CPU file otherwise."""
    kind = "cuda" if str(device).startswith("cuda") else "cpu"
    for name in (kind, "cpu", "cuda"):
        path = Path(course_root) / "calibration" / f"{name}.json"
        if path.is_file():
            return path
    return None


def load_bands(course_root: Path, assignment: str, device: str = "cpu") -> dict[str, Band]:
    """claim -> Band for one assignment; empty when the course has no calibration."""
    path = calibration_file(course_root, device)
    if path is None:
        return {}
    try:
        claims = json.loads(path.read_text())["claims"]
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path}: not a calibration file ({error}); rerun `nnkit calibrate`.") from error
    return {c["claim"]: Band(c["claim"], c["statistic"], float(c["minimum"]), float(c["median"]),
                             float(c["maximum"]), int(c["seeds"]))
            for c in claims if c.get("assignment") == assignment}

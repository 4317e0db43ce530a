"""The contract between whoever asks for grading and the graders: a `GradingJob` in,
a `GraderRun` (`nnkit.grading.runner`) out.

    runner (nbgrader step, nnkit grade, the mutant bank)
        | GradingJob, as JSON: --grading-job job.json
        v
    checker: pytest grader_tests/<ps>, trusted, never imports student code
        | requests / plain data (nnkit.grading.wire)
        v
    probe: the student's module, sandboxed (nnkit.grading.probe)

The checker writes its report (one entry per test, the probes' crashes and
time-outs, the student's measurements) to a pipe the runner holds; no probe
ever has that pipe or sees the runner's files.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nnkit.threads import GRADING_THREADS


@dataclass(frozen=True)
class GradingJob:
    course_root: Path
    assignment: str
    submission: Path                  # the student's notebook (.ipynb)
    source_notebook: Path             # the instructor's notebook: given cells and the hidden cells' points
    device: str = "auto"              # auto (CUDA when present), cpu or cuda
    per_test_timeout: float = 300.0   # seconds one hidden check may take, the student's code included
    timeout: float = 900.0            # seconds for the whole run (the runner enforces it)
    sandbox: bool = True              # run the probe under nnkit.sandbox
    threads: int = GRADING_THREADS
    only_cells: tuple[str, ...] = ()  # run only these hidden cells' tests
    first_failure_only: bool = False  # stop at the first failed test (the mutant bank's quick mode)
    limits: dict = field(default_factory=dict)  # nnkit.sandbox.Limits fields for the probe
    probe_zygote: str = ""            # fork the probes from this zygote's socket (the variant bank only:
                                      # nnkit.grading.probe_zygote); "" starts each probe afresh
    cell_load_seconds: float = 60.0   # one cell of the student's module while the probe loads it; past it
                                      # the cell is left out (remote.Probe._await_ready)

    def to_json(self) -> str:
        data = asdict(self)
        for key in ("course_root", "submission", "source_notebook"):
            data[key] = str(data[key])
        data["only_cells"] = list(self.only_cells)
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "GradingJob":
        data = json.loads(text)
        for key in ("course_root", "submission", "source_notebook"):
            data[key] = Path(data[key])
        data["only_cells"] = tuple(data.get("only_cells") or ())
        return cls(**data)

    def save(self, path: Path) -> Path:
        Path(path).write_text(self.to_json())
        return Path(path)

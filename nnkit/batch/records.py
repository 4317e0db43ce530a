"""What a batch run leaves behind: one `RunRecord` per hand-in (`.nnkit-run.json`), read back by
`load_runs`."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from nnkit.grading.course import Course
from nnkit.grading.status import read_private, Status, write_private

RUN_FILE = ".nnkit-run.json"
RUN_LOG = ".nnkit-run.log"

# ---------------------------------------------------------------------------------------------
# What a run leaves behind
# ---------------------------------------------------------------------------------------------

@dataclass
class RunRecord:
    """One autograde job: a student's hand-in of one assignment, as the batch ran it.

    Kept as JSON in ``autograded/<student>/<assignment>/.nnkit-run.json``; read them
    all with `load_runs`. Fields:

    student, assignment    whose hand-in, of which assignment
    status                 `Status` of the hand-in: the GradingRecord autograde wrote
                           (graded, crashed, timed out, unreadable); "timed out" when the
                           job was killed at its wall limit; "not graded" when nbgrader
                           failed and saved no result
    wall_seconds           the autograde process, start to exit (or kill), all attempts
    peak_rss_mb            largest resident memory of any one process of the job (nbgrader,
                           the student's kernel, a grader process), in MiB
    peak_tree_rss_mb       largest total resident memory of the job's process tree, in MiB,
                           sampled every `SAMPLE_SECONDS`
    device                 where the hidden graders ran ("cpu", "cuda", ...; "?" unknown)
    worker                 the Dask worker's address ("local" outside Dask)
    host                   the worker's host name
    hand_in_hash           sha256 over the names and bytes of submitted/<student>/<assignment>/
    graders_hash           sha256 of what grades it: source/<assignment>/, grader_tests/<assignment>/,
                           grader_tests/*.py and nbgrader_config.py
    exit_code              nbgrader's exit status; None when the job was killed at its limit
    time_limit_seconds     the job's wall limit (`job_time_limit`)
    attempts               autograde runs (more than 1 after a "database is locked" retry)
    started_at             ISO 8601 UTC time the job started
    detail                 when nbgrader failed or the job was killed: what happened, and the
                           tail of nbgrader's log (the whole tail is in .nnkit-run.log)
    cpu_seconds            CPU time (user + system) of the job's process tree, from the same
                           samples (a process's last second may be missed); with wall_seconds it
                           says how many cores a job keeps busy
    grader_errors          the graders' own exceptions (type, message, grader file and line, cell):
                           bugs of the graders, for staff; the student only reads that the part
                           could not be checked
    """
    student: str
    assignment: str
    status: Status
    wall_seconds: float
    peak_rss_mb: float
    peak_tree_rss_mb: float
    device: str
    worker: str
    host: str
    hand_in_hash: str
    graders_hash: str
    exit_code: int | None
    time_limit_seconds: float
    attempts: int = 1
    started_at: str = ""
    detail: str = ""
    cpu_seconds: float = 0.0
    grader_errors: list = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """nbgrader ran to its end and saved its grades (whatever the student's code did)."""
        return self.exit_code == 0

    def to_json(self) -> str:
        data = asdict(self)
        data["status"] = self.status.value
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "RunRecord":
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["status"] = Status(data["status"])
        return cls(**data)


def write_run(folder: Path, record: RunRecord, log_tail: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_private(folder / RUN_FILE, record.to_json())
    write_private(folder / RUN_LOG, log_tail)


def read_run(folder: Path) -> RunRecord | None:
    """The record in `folder`, or None when there is none (or it is damaged)."""
    return read_private(Path(folder) / RUN_FILE, RunRecord.from_json)


def load_runs(course: Course) -> list[RunRecord]:
    """Every batch run's record in the course, sorted by assignment and student."""
    runs = [read_run(path.parent) for path in (course.root / "autograded").glob(f"*/*/{RUN_FILE}")]
    return sorted((r for r in runs if r is not None), key=lambda r: (r.assignment, r.student))

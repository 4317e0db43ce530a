"""How grading one hand-in ended: the one status type, and the record the kit keeps of it.

Every part of the kit that says how a hand-in fared uses `Status`: the
autograde steps write it, the export's ``status`` column shows it, the batch
runner and the reports read it.

    graded         the notebook ran and the hidden graders scored it
    not submitted  no hand-in for this assignment
    unreadable     the file was not a notebook; the blank release stood in, ungraded (every part 0)
    wrong assignment  another assignment's notebook; the blank release stood in, ungraded
    crashed        the kernel or a grading probe died (a segfault, os._exit, out of memory)
    timed out      a cell or a check ran past its time limit
    not graded     handed in, but no autograde has recorded a result (yet)

The record (`GradingRecord`, kept as ``.nnkit-status.json`` in the student's
autograded folder) also holds the student's own measurements: numbers the
graders took while checking, such as loss curves and accuracies, keyed by name,
so that feedback and the class dashboard can plot them. They are plain JSON
data (numbers, strings, lists, dicts), capped in size; a non-finite number is
stored as ``null``.

Beside it, a batch run (`nnkit batch`) keeps a `RunRecord` per hand-in (``.nnkit-run.json``): how the
autograde job itself ran (wall time, memory, worker, the graders' own errors).
"""
from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from pathlib import Path

STATUS_FILE = ".nnkit-status.json"
# What `nnkit batch` keeps beside it, per hand-in: how the autograde job ran (`RunRecord`), and its log's tail.
RUN_FILE = ".nnkit-run.json"
RUN_LOG = ".nnkit-run.log"


class Status(str, Enum):
    GRADED = "graded"
    NOT_SUBMITTED = "not submitted"
    UNREADABLE = "unreadable"
    WRONG_ASSIGNMENT = "wrong assignment"
    CRASHED = "crashed"
    TIMED_OUT = "timed out"
    NOT_GRADED = "not graded"

    def __str__(self) -> str:
        return self.value

    @property
    def needs_attention(self) -> bool:
        """A TA should look at this hand-in (its score may not reflect the work)."""
        return self in (Status.UNREADABLE, Status.WRONG_ASSIGNMENT, Status.CRASHED, Status.TIMED_OUT,
                        Status.NOT_GRADED)

    @property
    def hand_in_replaced(self) -> bool:
        """Nothing the student wrote was graded: the hand-in as a whole was unusable, so the blank release
        stood in for it and one message for the whole hand-in says why (`nnkit.grading.intake`)."""
        return self in (Status.UNREADABLE, Status.WRONG_ASSIGNMENT)

    @classmethod
    def worst(cls, *statuses: "Status") -> "Status":
        """The status that says most about what went wrong (a crash outranks a timeout)."""
        rank = [cls.GRADED, cls.TIMED_OUT, cls.CRASHED, cls.UNREADABLE, cls.WRONG_ASSIGNMENT]
        return max(statuses, key=lambda s: rank.index(s) if s in rank else len(rank))


# Caps on what one submission's measurements may hold: they come from student code.
MAX_MEASUREMENTS = 400
MAX_VALUES_PER_MEASUREMENT = 5000
MAX_STRING = 200


class MeasurementRefused(ValueError):
    """A measured value was not plain data (or too large); the message says what."""


def plain_data(value, *, budget: list[int] | None = None):
    """`value` as JSON-ready plain data: floats, ints, bools, short strings, lists, dicts.

    Tensors and NumPy arrays become (nested) lists of floats; a non-finite float
    becomes None. Anything else (a student's own class, a function) is refused.
    """
    budget = budget if budget is not None else [MAX_VALUES_PER_MEASUREMENT]
    budget[0] -= 1
    if budget[0] < 0:
        raise MeasurementRefused(f"more than {MAX_VALUES_PER_MEASUREMENT} values")
    if value is None or type(value) is bool:
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is str:
        return value[:MAX_STRING]
    if type(value) in (list, tuple):
        return [plain_data(v, budget=budget) for v in value]
    if type(value) is dict:
        return {str(k)[:MAX_STRING]: plain_data(v, budget=budget) for k, v in value.items()}
    type_name = f"{type(value).__module__}.{type(value).__qualname__}"
    if type_name in ("torch.Tensor", "torch.nn.parameter.Parameter"):
        if value.numel() > budget[0]:
            raise MeasurementRefused(f"a tensor of {value.numel()} values")
        return plain_data(value.detach().cpu().double().tolist(), budget=budget)
    if type_name == "numpy.ndarray":
        if value.size > budget[0]:
            raise MeasurementRefused(f"an array of {value.size} values")
        return plain_data(value.astype(float).tolist(), budget=budget)
    if type_name.startswith("numpy.") and hasattr(value, "item"):
        return plain_data(value.item(), budget=budget)
    raise MeasurementRefused(f"a {type(value).__name__} is not plain data")


def keep_measurement(measurements: dict, name, value) -> None:
    """Add one of the student's own numbers to `measurements`, capped: at most MAX_MEASUREMENTS
    names of MAX_STRING characters, each value as `plain_data`. A value that is not plain data is
    left out, silently: a measurement is display data, never worth a failed check or a verdict."""
    key = str(name)[:MAX_STRING]
    if len(measurements) >= MAX_MEASUREMENTS and key not in measurements:
        return
    try:
        measurements[key] = plain_data(value)
    except MeasurementRefused:
        pass


@dataclass
class GradingRecord:
    """What the kit keeps of one graded notebook (see the module docstring)."""
    status: Status
    execution: dict = field(default_factory=lambda: {"status": Status.GRADED.value, "detail": ""})
    graders: dict = field(default_factory=dict)      # status, seconds, device, notes
    intake: dict | None = None                      # nnkit.grading.intake's note, if any
    measurements: dict = field(default_factory=dict)  # name -> plain data (the student's numbers)

    def to_json(self) -> str:
        data = asdict(self)
        data["status"] = self.status.value
        return json.dumps(data, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "GradingRecord":
        data = json.loads(text)
        return cls(status=Status(data["status"]), execution=data.get("execution") or {},
                   graders=data.get("graders") or {}, intake=data.get("intake"),
                   measurements=data.get("measurements") or {})


def write_private(target: Path, text: str) -> None:
    """Write `text` to `target` in a student's folder, never through a link or into something
    the student's kernel planted there (it could write in that folder while it ran)."""
    target = Path(target)
    if target.is_symlink() or (target.exists() and not target.is_dir() and not target.is_file()):
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def write_record(folder: Path, record: GradingRecord) -> None:
    """Write `record` into `folder` (the student's autograded folder)."""
    write_private(Path(folder) / STATUS_FILE, record.to_json())


def read_private(target: Path, from_json):
    """`from_json(text)` of the file at `target` in a student's folder, or None when there is none,
    it is damaged, or it is a link (the student's code could have planted one there)."""
    target = Path(target)
    if target.is_symlink():
        return None
    try:
        return from_json(target.read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_record(folder: Path) -> GradingRecord | None:
    """The record in `folder`, or None when there is none (or it is damaged)."""
    return read_private(Path(folder) / STATUS_FILE, GradingRecord.from_json)


def write_status(folder: Path, execution: dict, graders: dict, intake: dict | None = None,
                 measurements: dict | None = None) -> Status:
    """Record how grading of one notebook ended, for the export and the reports.

    `execution` and `graders` each hold a `Status` under "status"; `intake` is
    `nnkit.grading.intake`'s note, when the hand-in needed one: an unreadable
    file is "unreadable", another assignment's notebook "wrong assignment",
    whatever its stand-in scored.
    """
    status = Status.worst(Status(execution.get("status", Status.GRADED)), Status(graders.get("status", Status.GRADED)))
    if intake and Status(intake.get("status", Status.GRADED)).hand_in_replaced:
        status = Status(intake["status"])
    write_record(folder, GradingRecord(status, execution, graders, intake, measurements or {}))
    return status


def read_status(folder: Path) -> Status:
    record = read_record(folder)
    return record.status if record else Status.NOT_GRADED


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

"""Where the time of one student's full hand-in goes, per assignment, and what a class would cost.

    python benchmarks/autograde_time.py [--course DIR ...] [--assignment A ...] [--no-graders]
                                        [--runs 1] [--cold] [--top 10]
                                        [--students 300] [--cores 16] [--scaling 1.85 1.93]
    python benchmarks/autograde_time.py --loop-only     # the fixed loop alone, to compare machines

For each course folder (default: this checkout; give several, e.g. an older revision exported with
`git archive`, to compare them in one run on the same machine), the script copies what an instructor
has (nbgrader_config.py, source/, release/, grader_tests/) into a temporary folder, hands in the
reference solutions as one student ("reference": the release notebook with every solution cell
answered from source/), and times, per assignment:

* `nbgrader autograde <assignment> --student reference`, exactly as configured (sandboxed kernel,
  the out-of-kernel graders overlapping the kernel), i.e. executing the whole notebook, experiments
  included;
* unless --no-graders, `pytest grader_tests/<assignment> --submission <autograded notebook>`: the
  hidden graders alone, once more.

It prints the automatic score next to each time, so that a faster run that lost points shows.

**Core-seconds** are the CPU time of the autograde's whole process tree (nbgrader, the sandboxed
kernel, the checker and its sandboxed probes), exact: the command runs in a cgroup of its own under
the cgroup-v1 `cpuacct` hierarchy, which every descendant inherits, and the cgroup's `cpuacct.usage`
is read when it ends. The **split** comes from sub-groups: a thread of this script looks at the
group's processes every 20 ms and moves each one that starts into its part's sub-group, by its
command line: `kernel` (nnkit.sandbox.kernel and the sandboxed warm_kernel / ipykernel), `checker`
(multiprocessing's forkserver and resource tracker, which the checkers are forked from, and a
`pytest` checker) and `probe` (nnkit.grading.probe, with its bwrap). A process is moved within 20 ms
of its start, and the CPU it used before (read from /proc/<pid>/stat) is moved to its part as well.
`nbgrader` is the rest: nbgrader's own steps (start-up, the gradebook, sanitizing, writing) and the
short helpers it runs (`bwrap true`, alembic). Where that hierarchy is not writable, the columns show "-".
"machine busy" is what the whole machine spent meanwhile (/proc/stat): other people's work included.

Kernel start and each cell: nbclient records per-cell timestamps in the autograded notebook
(`metadata.execution`: iopub.status.busy .. iopub.status.idle). Kernel start is from the kernel
launcher's fork to the first code cell going busy; a cell's core-seconds are the kernel group's CPU
between its busy and idle timestamps (sampled every 20 ms, interpolated). "kernel other" is the
kernel's CPU outside those (between cells, shutting down). The wall-time columns add up to the
autograde's wall time; the graders run beside the kernel, so their wall time (nbgrader's log) overlaps.

**The fixed loop**: a pure-Python loop of fixed size (`fixed_loop_seconds`, the best of 3, CPU
seconds), timed at the start and end of every run. Every time is also printed as a multiple of it
("x loop"), so that runs on different machines and days can be compared. It measures one core's
speed at plain Python; torch's vectorised kernels may differ between machines by another factor.

Only figures from one run are comparable (the machine is shared and noisy): compare rows, not runs;
`--runs 2` runs the whole hand-in twice in a row (fresh course copies) and compares them, part by part;
`--cold` gives runs 1, 3, ... empty first-use caches (the MNIST copy, `$NNKIT_DATA_CACHE`, and
matplotlib's font cache, `$MPLCONFIGDIR`), as on a new machine, and runs 2, 4, ... the warm ones.

**Class estimate**: from the core-seconds of one hand-in (all assignments of the first course),

    time = students x (core-seconds per hand-in) / (cores x efficiency)

with efficiency 1 (one job per core, perfect scaling) and the measured speed-ups at 2 workers
(`--scaling`, default 1.85 and 1.93: `benchmarks/batch_scaling.py`, docs/scale-out.md) divided by 2.
On another machine, multiply by (its fixed loop) / (the loop here): `--loop-only` prints it there.
"""
from __future__ import annotations

import argparse
import datetime
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from batch_scaling import busy_core_seconds  # noqa: E402  (the machine-wide CPU figure)
from nnkit.demo import cell_scores, filled_release, reference_answers  # noqa: E402
from nnkit.grading.course import Course  # noqa: E402
from nnkit.grading.notebook import grade_id, hidden_grader_cells, read_notebook  # noqa: E402
from nnkit.grading.results import cell_points  # noqa: E402

STUDENT = "reference"
COPIED = ("source", "release", "grader_tests")


def course_copy(origin: Path, destination: Path) -> Course:
    """What an instructor has, without generated state (gradebook, autograded/, ...)."""
    destination.mkdir(parents=True)
    for name in COPIED:
        shutil.copytree(origin / name, destination / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    shutil.copy(origin / "nbgrader_config.py", destination / "nbgrader_config.py")
    return Course(destination)


def hand_in(course: Course, assignment: str) -> Path:
    source = course.source_notebook(assignment)
    release = course.root / "release" / assignment / source.name
    folder = course.root / "submitted" / STUDENT / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(filled_release(release, reference_answers(source)), str(folder / source.name))
    (folder / "timestamp.txt").write_text("2026-11-25 12:00:00.000000 UTC")
    return course.root / "autograded" / STUDENT / assignment / source.name


# ---------------------------------------------------------------------------------------------
# The fixed loop: one core's speed at plain Python, to compare machines and days.

LOOP_ITERATIONS = 10_000_000


def fixed_loop_seconds(repeats: int = 3) -> float:
    """CPU seconds of a fixed pure-Python loop (10 million multiply-add-mask steps), the best of `repeats`."""
    best = math.inf
    for _ in range(repeats):
        start = time.thread_time()
        x = 0
        for i in range(LOOP_ITERATIONS):
            x = (x * 31 + i) & 0xFFFFFFF
        best = min(best, time.thread_time() - start)
    return best


# ---------------------------------------------------------------------------------------------
# CPU accounts: a cpuacct cgroup for a command's whole process tree, and sub-groups for its parts.

CPUACCT = Path("/sys/fs/cgroup/cpuacct")
TICK = os.sysconf("SC_CLK_TCK")


class CpuAccount:
    """A fresh cpuacct cgroup: a process that joins it (before exec) takes all its descendants with it,
    so `seconds()` is the CPU time of the whole tree, sandboxed kernels and graders included."""

    def __init__(self):
        self.path = CPUACCT / f"nnkit-autograde-time-{os.getpid()}-{time.monotonic_ns()}"
        try:
            self.path.mkdir()
        except OSError:
            self.path = None

    def join(self) -> None:  # runs in the child, between fork and exec
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def seconds(self) -> float:
        if self.path is None:
            return float("nan")
        return int((self.path / "cpuacct.usage").read_text()) / 1e9

    def remove(self) -> None:
        if self.path is not None:
            try:
                self.path.rmdir()
            except OSError:
                pass  # a straggling process still in it: the kernel drops the empty group later


PARTS = ("kernel", "checker", "probe")


def part_of(cmdline: str) -> str | None:
    """Which part of an autograde a process (by its command line) belongs to; None: nbgrader's own."""
    if "nnkit.grading.probe" in cmdline:      # the probe, its bwrap, a probe zygote
        return "probe"
    if any(s in cmdline for s in ("nnkit.sandbox.kernel", "nnkit.sandbox.warm_kernel", "ipykernel")):
        return "kernel"
    if any(s in cmdline for s in ("multiprocessing.forkserver", "multiprocessing.resource_tracker", "pytest")):
        return "checker"
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


# Epoch seconds at boot, to 10 ms (/proc/stat's btime is rounded to the second): /proc/<pid>/stat
# gives a process's start in clock ticks since boot.
BOOT = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


def _process_cpu_and_start(pid: int) -> tuple[float, float] | None:
    """(CPU seconds used so far, its own and its reaped children's; start time, epoch) of a process."""
    stat = _read(Path(f"/proc/{pid}/stat"))
    if not stat:
        return None
    fields = stat[stat.rindex(")") + 2:].split()   # after "pid (comm) ": field 3 is fields[0]
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + cutime + cstime) / TICK, BOOT + int(fields[19]) / TICK


class TreeProfile(CpuAccount):
    """A `CpuAccount` whose processes a watcher thread sorts into sub-groups, one per part (PARTS),
    as they start; it samples every group's CPU every `interval` seconds."""

    def __init__(self, interval: float = 0.02):
        super().__init__()
        self.interval = interval
        self.groups: dict[str, Path] = {}
        if self.path is not None:
            for part in PARTS:
                (self.path / part).mkdir()
                self.groups[part] = self.path / part
        self.moved = dict.fromkeys(PARTS, 0.0)         # CPU used before a process was moved in (out: negative)
        self.started: dict[str, float] = {}            # part -> its first process's start (epoch)
        self.sandboxed: set[str] = set()               # parts seen running under bwrap
        self.samples: list[tuple[float, float, dict[str, float]]] = []  # (epoch, tree CPU, part -> CPU)
        self.root_pid = 0
        self.watcher_cpu = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, root_pid: int) -> None:
        self.root_pid = root_pid
        if self.path is not None:
            self._thread = threading.Thread(target=self._watch, name="autograde-time-watcher", daemon=True)
            self._thread.start()

    def finish(self, linger: float = 10.0) -> None:
        """Stop watching once the tree's last process is gone (the forkserver and the resource tracker
        exit just after nbgrader; their CPU counts), or after `linger` seconds."""
        deadline = time.monotonic() + linger
        while self.path is not None and time.monotonic() < deadline and any(
                self._pids(group) for group in (self.path, *self.groups.values())):
            time.sleep(self.interval)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._sample()

    def _pids(self, group: Path) -> list[int]:
        return [int(p) for p in _read(group / "cgroup.procs").split()]

    def _move(self, pid: int, source: str | None, part: str) -> None:
        used = _process_cpu_and_start(pid)
        try:
            (self.groups[part] / "cgroup.procs").write_text(str(pid))
        except OSError:
            return                                     # gone already: its CPU stays where it was
        if used is None:
            return
        self.moved[part] += used[0]
        if source is not None:
            self.moved[source] -= used[0]
        self.started[part] = min(self.started.get(part, math.inf), used[1])

    def _sort(self) -> None:
        for pid in self._pids(self.path):
            if pid != self.root_pid:
                part = part_of(_read(Path(f"/proc/{pid}/cmdline")).replace("\0", " "))
                if part:
                    self._move(pid, None, part)
        for pid in self._pids(self.groups["checker"]):   # a checker's probes start in the checker's group
            if part_of(_read(Path(f"/proc/{pid}/cmdline")).replace("\0", " ")) == "probe":
                self._move(pid, "checker", "probe")
        for part in ("kernel", "probe"):
            if part not in self.sandboxed and any(Path(_read(Path(f"/proc/{pid}/cmdline")).split("\0")[0]).name == "bwrap"
                                                  for pid in self._pids(self.groups[part])):
                self.sandboxed.add(part)

    def _sample(self) -> None:
        usage = {part: int(_read(group / "cpuacct.usage") or 0) / 1e9 + self.moved[part]
                 for part, group in self.groups.items()}
        self.samples.append((time.time(), self.seconds(), usage))

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._sort()
            self._sample()
            self._stop.wait(self.interval)
        self.watcher_cpu = time.thread_time()   # this thread's own CPU (outside the measured tree)

    def at(self, part: str, when: float) -> float:
        """A part's CPU seconds up to `when` (epoch), interpolated between samples."""
        def value(sample):
            return sample[2][part]
        if not self.samples or when <= self.samples[0][0]:
            return 0.0
        for before, after in zip(self.samples, self.samples[1:]):
            if before[0] <= when <= after[0]:
                share = (when - before[0]) / ((after[0] - before[0]) or 1)
                return value(before) + share * (value(after) - value(before))
        return value(self.samples[-1])

    def remove(self) -> None:
        for group in self.groups.values():
            try:
                group.rmdir()
            except OSError:
                pass
        super().remove()


# ---------------------------------------------------------------------------------------------
# Running the commands.

def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader calls alembic
    return env


def timed(command: list[str], cwd: Path, ok_codes=(0,), env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command's whole process tree); stops unless it exits in `ok_codes`."""
    account = CpuAccount()
    start = time.monotonic()
    try:
        done = subprocess.run(command, cwd=cwd, env=env or _env(), capture_output=True, text=True,
                              preexec_fn=account.join)
        seconds, cpu = time.monotonic() - start, account.seconds()
    finally:
        account.remove()
    if done.returncode not in ok_codes:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"{' '.join(command[:4])} failed in {cwd} (exit {done.returncode}); its output is above.")
    return seconds, cpu


@dataclass
class Cell:
    assignment: str
    label: str        # grade_id, or the first line of the source
    wall: float
    cpu: float


@dataclass
class Profile:
    """One `nbgrader autograde` of one assignment."""
    assignment: str
    wall: float
    cpu: float                      # the whole process tree (nan: no cgroup here)
    machine: float                  # core-seconds the whole machine was busy meanwhile (/proc/stat)
    score: str
    phases: dict[str, float]        # wall seconds: before the kernel, kernel start, cells, after the cells
    parts: dict[str, float]         # core-seconds: kernel start, cells, kernel other, checker, probe, nbgrader
    cells: list[Cell] = field(default_factory=list)
    graders_wall: float = float("nan")   # as nbgrader logs it (overlaps the kernel)
    sandboxed: set = field(default_factory=set)
    grader: tuple | None = None     # (wall, CPU) of the graders alone, or None
    watcher: float = 0.0            # CPU of this script's watcher thread (not in the tree, in "machine busy")


GRADERS_LINE = re.compile(r"Hidden graders for [^:]+: (\S+), \S+ points in ([\d.]+) s on (\S+)")


def _epoch(stamp: str) -> float:
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def _cell_label(index: int, cell) -> str:
    """`[index] grade_id`, or `[index]` and the source's first line for a cell without one."""
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"[{index}] {grade_id(cell) or first}"


def profiled_autograde(course: Course, assignment: str, env: dict) -> tuple[Profile, str]:
    command = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--create", "--force", "--student", STUDENT]
    profile = TreeProfile()
    machine_before, start = busy_core_seconds(), time.time()
    try:
        process = subprocess.Popen(command, cwd=course.root, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, preexec_fn=profile.join)
        profile.watch(process.pid)
        output = process.communicate()[0]
        end = time.time()
        profile.finish()
        total = profile.seconds()
    finally:
        profile.remove()
    machine = busy_core_seconds() - machine_before
    if process.returncode != 0:
        sys.stderr.write(output[-6000:])
        raise SystemExit(f"nbgrader autograde {assignment} failed in {course.root} (exit {process.returncode}); "
                         "its output is above.")
    autograded = course.root / "autograded" / STUDENT / assignment / course.source_notebook(assignment).name
    timings = []
    for index, cell in enumerate(read_notebook(autograded).cells):
        execution = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type == "code" and "iopub.status.busy" in execution and "iopub.status.idle" in execution:
            timings.append((_cell_label(index, cell), _epoch(execution["iopub.status.busy"]), _epoch(execution["iopub.status.idle"])))
    nan = float("nan")
    launch = profile.started.get("kernel", nan)
    first = timings[0][1] if timings else nan
    last = timings[-1][2] if timings else nan
    phases = {"before kernel": launch - start, "kernel start": first - launch, "cells": last - first, "after cells": end - last}
    cells = [Cell(assignment, label, idle - busy,
                  profile.at("kernel", idle) - profile.at("kernel", busy) if profile.samples else nan)
             for label, busy, idle in timings]
    if profile.samples:
        final = profile.samples[-1][2]
        kernel_start = profile.at("kernel", first)
        in_cells = sum(c.cpu for c in cells)
        parts = {"kernel start": kernel_start, "cells": in_cells, "kernel other": final["kernel"] - kernel_start - in_cells,
                 "checker": final["checker"], "probe": final["probe"],
                 "nbgrader": total - sum(final.values())}
    else:
        parts = dict.fromkeys(("kernel start", "cells", "kernel other", "checker", "probe", "nbgrader"), nan)
    graders = GRADERS_LINE.search(output)
    result = Profile(assignment, end - start, total, machine, "", phases, parts, cells,
                     float(graders.group(2)) if graders else nan, profile.sandboxed, watcher=profile.watcher_cpu)
    return result, autograded


def automatic_score(course: Course, assignment: str) -> tuple[float, float]:
    source = read_notebook(course.source_notebook(assignment))
    hidden = [grade_id(c) for c in hidden_grader_cells(source)]
    scores = cell_scores(course, assignment, STUDENT)
    return sum(scores[c] for c in hidden), sum(cell_points(source).values())


def measure(course: Course, assignment: str, graders: bool, env: dict) -> Profile:
    # Untimed: registers the assignment (and its cells) in the gradebook, as an instructor does once.
    timed([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"], course.root, env=env)
    hand_in(course, assignment)
    profile, autograded = profiled_autograde(course, assignment, env)
    got, out_of = automatic_score(course, assignment)
    profile.score = f"{got:g}/{out_of:g}"
    if graders:
        # Exit 1 (a test failed) is a result, not a breakdown: the score table of the autograde says which.
        profile.grader = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                f"grader_tests/{assignment}", "--submission", str(autograded)], course.root,
                               ok_codes=(0, 1), env=env)
    print(f"  {course.root.name}: {assignment}: autograde {profile.wall:.1f} s ({profile.cpu:.1f} core-s)"
          + (f", graders alone {profile.grader[0]:.1f} s ({profile.grader[1]:.1f} core-s)" if profile.grader else "")
          + f", score {profile.score}", flush=True)
    return profile


# ---------------------------------------------------------------------------------------------
# Printing.

def _n(x: float, width: int, digits: int = 1) -> str:
    return f"{x:>{width}.{digits}f}" if x == x else f"{'-':>{width}}"   # nan: not measured here


def _short(assignment: str) -> str:
    return assignment.split("_")[0]


def print_profile(name: str, rows: list[Profile], loop: float, top: int) -> None:
    total = Profile("TOTAL", sum(r.wall for r in rows), sum(r.cpu for r in rows), sum(r.machine for r in rows), "",
                    {k: sum(r.phases[k] for r in rows) for k in rows[0].phases},
                    {k: sum(r.parts[k] for r in rows) for k in rows[0].parts},
                    graders_wall=sum(r.graders_wall for r in rows))
    print(f"\n{name}: wall seconds (the phases add up to the wall time; the graders overlap the kernel)")
    print(f"{'assignment':<22}{'wall':>7}{'x loop':>8}{'before':>8}{'kernel':>8}{'cells':>8}{'after':>8}{'graders':>9}  score")
    print(f"{'':<22}{'':>7}{'':>8}{'kernel':>8}{'start':>8}{'':>8}{'cells':>8}{'(overlap)':>9}")
    for r in [*rows, total]:
        p = r.phases
        print(f"{r.assignment:<22}{_n(r.wall, 7)}{_n(r.wall / loop, 8, 0)}{_n(p['before kernel'], 8)}"
              f"{_n(p['kernel start'], 8)}{_n(p['cells'], 8)}{_n(p['after cells'], 8)}{_n(r.graders_wall, 9)}  {r.score}")
    print(f"\n{name}: core-seconds (CPU of the autograde's process tree, cgroup cpuacct; the parts add up to it)")
    print(f"{'assignment':<22}{'core-s':>7}{'x loop':>8}{'cores':>7}{'kernel':>8}{'cells':>8}{'kernel':>8}"
          f"{'checker':>9}{'probe':>8}{'nbgrader':>9}{'machine':>9}")
    print(f"{'':<22}{'':>7}{'':>8}{'busy':>7}{'start':>8}{'':>8}{'other':>8}{'':>9}{'':>8}{'':>9}{'busy':>9}")
    for r in [*rows, total]:
        p = r.parts
        print(f"{r.assignment:<22}{_n(r.cpu, 7)}{_n(r.cpu / loop, 8, 0)}{_n(r.cpu / r.wall, 7, 2)}{_n(p['kernel start'], 8)}"
              f"{_n(p['cells'], 8)}{_n(p['kernel other'], 8)}{_n(p['checker'], 9)}{_n(p['probe'], 8)}"
              f"{_n(p['nbgrader'], 9)}{_n(r.machine, 9)}")
    cells = sorted((c for r in rows for c in r.cells), key=lambda c: -c.wall)
    print(f"\n{name}: the {min(top, len(cells))} longest of {len(cells)} code cells (kernel wall and core-seconds)")
    print(f"{'ps':<5}{'[cell index] grade_id or first line':<42}{'wall':>7}{'core-s':>8}{'x loop':>8}")
    for c in cells[:top]:
        print(f"{_short(c.assignment):<5}{c.label[:41]:<42}{_n(c.wall, 7)}{_n(c.cpu, 8)}{_n(c.cpu / loop, 8, 1)}")
    rest = cells[top:]
    print(f"{'':<5}{f'the other {len(rest)}':<42}{_n(sum(c.wall for c in rest), 7)}{_n(sum(c.cpu for c in rest), 8)}")
    unsandboxed = sorted({p for r in rows for p in ("kernel", "probe")} - set.intersection(*(r.sandboxed for r in rows)))
    print(f"machine busy: all processes of the machine (/proc/stat), others' work included; this script's watcher "
          f"thread used {sum(r.watcher for r in rows):.1f} core-s of it")
    print("sandbox: kernel and probe seen under bwrap in every assignment" if not unsandboxed else
          f"sandbox: {', '.join(unsandboxed)} NOT seen under bwrap in every assignment")
    if any(r.grader for r in rows):
        g = [r.grader for r in rows if r.grader]
        print(f"graders alone (pytest --submission, once more): {sum(x[0] for x in g):.1f} s, {sum(x[1] for x in g):.1f} core-s")


def print_estimate(handin_cpu: float, assignments: int, loop: float, students: int, cores: int,
                   scaling: list[float]) -> None:
    if handin_cpu != handin_cpu:
        print("\nClass estimate: needs the core-seconds of a hand-in (no writable cgroup-v1 cpuacct here).")
        return
    jobs_cpu = students * handin_cpu

    def minutes(efficiency):
        return jobs_cpu / (cores * efficiency) / 60
    print(f"\nClass estimate: {students} students x {assignments} assignment(s), one student's hand-in "
          f"{handin_cpu:.1f} core-s ({handin_cpu / loop:.0f} x loop), on {cores} cores as fast as this machine's:")
    print(f"  perfect scaling, one job per core:  {students} x {handin_cpu:.1f} / {cores} = {minutes(1):.1f} min")
    for speedup in scaling:
        print(f"  at {speedup:.2f}x per 2 workers (efficiency {speedup / 2:.3f}, measured on 2 cores, assumed to hold "
              f"at {cores}): {minutes(speedup / 2):.1f} min")
    print(f"  on a machine whose fixed loop takes L s: multiply by L / {loop:.3f} "
          "(`python benchmarks/autograde_time.py --loop-only` there)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", action="append", type=Path,
                        help="a course folder (repeat to compare several in one run; default: this checkout)")
    parser.add_argument("--assignment", action="append", help="default: every assignment of the first course")
    parser.add_argument("--no-graders", dest="graders", action="store_false",
                        help="skip timing `pytest grader_tests --submission` on its own")
    parser.add_argument("--runs", type=int, default=1, help="grade the whole hand-in this many times in a row")
    parser.add_argument("--cold", action="store_true",
                        help="runs 1, 3, ... start with empty first-use caches ($NNKIT_DATA_CACHE, $MPLCONFIGDIR)")
    parser.add_argument("--top", type=int, default=10, help="how many of the longest cells to list")
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--cores", type=int, default=16)
    parser.add_argument("--scaling", type=float, nargs="*", default=[1.85, 1.93],
                        help="measured speed-ups at 2 workers (batch_scaling.py)")
    parser.add_argument("--loop-only", action="store_true", help="print the fixed loop's CPU seconds and stop")
    args = parser.parse_args()
    if args.loop_only:
        print(f"fixed loop: {fixed_loop_seconds():.3f} s CPU (best of 3; {LOOP_ITERATIONS:,} iterations)")
        return 0
    if not os.environ.get("MNIST_ROOT"):
        raise SystemExit("Set MNIST_ROOT to a folder with the four MNIST IDX files (the graders never download).")
    courses = [c.resolve() for c in (args.course or [ROOT])]
    assignments = args.assignment or Course(courses[0]).assignments()
    head = subprocess.run(["git", "-C", str(courses[0]), "log", "-1", "--format=%h %cs"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(courses[0]), "status", "--porcelain", "--", "nnkit", "source", "grader_tests",
                            "nbgrader_config.py"], capture_output=True, text=True).stdout.strip()
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}; {courses[0].name} at {head.stdout.strip() or '?'}"
          + (" with uncommitted changes" if dirty else ""), flush=True)
    runs = []   # per run: (loop, {course: [Profile]}, cold)
    for run in range(args.runs):
        cold = args.cold and run % 2 == 0
        # The caches in /var/tmp, as nbgrader_config.py's default: the sandbox sees it (read-only), not /tmp.
        with tempfile.TemporaryDirectory(prefix="nnkit-autograde-time-") as tmp, \
                tempfile.TemporaryDirectory(prefix="nnkit-autograde-time-caches-", dir="/var/tmp") as caches:
            env = _env()
            if cold:
                for var, name in (("NNKIT_DATA_CACHE", "data-cache"), ("MPLCONFIGDIR", "matplotlib")):
                    (Path(caches) / name).mkdir()
                    env[var] = str(Path(caches) / name)
            loops = [fixed_loop_seconds()]
            print(f"\nrun {run + 1} of {args.runs}" + (" (empty first-use caches)" if cold else "")
                  + f": fixed loop {loops[0]:.3f} s, load average {os.getloadavg()[0]:.2f}", flush=True)
            copies = {origin: course_copy(origin, Path(tmp) / f"{i}-{origin.name}") for i, origin in enumerate(courses)}
            results: dict[Path, list[Profile]] = {origin: [] for origin in courses}
            for assignment in assignments:  # courses interleaved per assignment: a busy spell hits both alike
                for origin, course in copies.items():
                    results[origin].append(measure(course, assignment, args.graders, env))
            loops.append(fixed_loop_seconds())
        loop = sum(loops) / 2
        print(f"\nrun {run + 1}: fixed loop {loops[0]:.3f} s before, {loops[1]:.3f} s after (x loop: multiples of "
              f"{loop:.3f} s); load average {os.getloadavg()[0]:.2f}")
        for origin, rows in results.items():
            print_profile(f"run {run + 1}, {origin.name}", rows, loop, args.top)
        if len(results) > 1:
            first, *others = results
            base = sum(r.wall for r in results[first]), sum(r.cpu for r in results[first])
            for origin in others:
                now = sum(r.wall for r in results[origin]), sum(r.cpu for r in results[origin])
                print(f"{origin.name} / {first.name}: autograde wall {now[0] / base[0]:.2f}x, CPU {now[1] / base[1]:.2f}x")
        runs.append((loop, results, cold))
    if len(runs) > 1:
        print(f"\nThe runs compared ({courses[0].name}; core-seconds, but wall; others: machine busy - this tree, "
              "the other work on the machine meanwhile)")
        print(f"{'run':<6}{'loop s':>7}{'wall':>7}{'core-s':>8}{'x loop':>7}{'kernel':>8}{'cells':>7}{'kernel':>8}"
              f"{'checker':>8}{'probe':>7}{'nbgrader':>9}{'others':>8}")
        print(f"{'':<6}{'':>7}{'':>7}{'':>8}{'':>7}{'start':>8}{'':>7}{'other':>8}")
        for i, (loop, results, cold) in enumerate(runs):
            rows = results[courses[0]]
            parts = {k: sum(r.parts[k] for r in rows) for k in rows[0].parts}
            cpu = sum(r.cpu for r in rows)
            print(f"{str(i + 1) + (' cold' if cold else ''):<6}{loop:>7.3f}{sum(r.wall for r in rows):>7.1f}{_n(cpu, 8)}"
                  f"{_n(cpu / loop, 7, 0)}{_n(parts['kernel start'], 8)}{_n(parts['cells'], 7)}{_n(parts['kernel other'], 8)}"
                  f"{_n(parts['checker'], 8)}{_n(parts['probe'], 7)}{_n(parts['nbgrader'], 9)}"
                  f"{_n(sum(r.machine for r in rows) - cpu, 8)}")
    for loop, results, _ in runs[-1:]:
        print_estimate(sum(r.cpu for r in results[courses[0]]), len(assignments), loop, args.students, args.cores,
                       args.scaling)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

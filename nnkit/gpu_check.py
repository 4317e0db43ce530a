"""`make gpu-check`: the kit's checks on a GPU machine, within a deadline, each result kept as it comes.

    python -m nnkit.gpu_check [--deadline 450] [--out gpu-check] [--only PART,...] [--bank-on-cpu]

The parts, started side by side (the reference runs, the bank and the calibration each use their
share of the cores); whatever is still running at the deadline is killed, its whole process tree
with it, and what it had not reported is listed as "not reached in time":

  machine    Python, torch, CUDA, bubblewrap, the packages; asked in a subprocess, never here: this
             process starts the others, and a process that asked CUDA anything cannot be forked from
             safely (`nnkit.grading.devices`)
  reference  each reference solution (solutions/<ps>.ipynb) graded on CUDA and on the CPU: the same
             score on both, full marks, no grader error
  hog        a GPU-memory hog among honest hand-ins: a sandboxed probe that allocates GPU memory until it
             fails, holding what it got, while three ps1 reference runs are graded on CUDA beside it;
             passes when the hog got no more than its cap (`nnkit.sandbox.gpu_cap`) and the honest
             runs kept full marks
  bank       the mutant bank on CUDA: every wrong variant caught, no correct one failed
  calibrate  every calibration claim over 10 seeds on CUDA, each (assignment, seed) handed to the next
             free worker process (half the cores, niced) -> calibration/cuda.md and cuda.json, claims
             not measured on every seed in time listed as such
  autograde  one full `nbgrader autograde` of a reference hand-in (the first assignment's; --autograde
             PS or all), graders on CUDA, in a copy of the course with a gradebook of its own (needs
             nbgrader: `make wheelhouse-full` carries it where it fits)

With no GPU: "no CUDA GPU visible: checking on the CPU only"; the reference solutions are graded on
the CPU, the bank runs on the CPU only with --bank-on-cpu (about 10 minutes on 2 cores), the
autograde only with --autograde-on-cpu, and the calibration only with --calibrate-on-cpu (its
report then goes to OUT/calibration/, never over calibration/cpu.md: `make calibrate` writes that).

Every result is a JSON line in OUT/results.jsonl, written when it arrives; OUT/summary.md (also
printed) sums them up; OUT/logs/ keeps each worker's own output. Exit status 1 if any check that
ran failed (scores that differ between devices, a wrong variant not caught, a correct one failed,
a claim that does not hold on every seed, an autograde not graded on CUDA, a part that crashed);
0 otherwise, also when a part was not reached in time (the summary says which).

The workers are this module again (``--worker KIND``); they write their results as JSON lines on
stdout and everything else to their log.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

PARTS = ("machine", "reference", "hog", "bank", "calibrate", "autograde")
NOT_REACHED = "not reached in time"
NO_GPU = "no CUDA GPU visible: checking on the CPU only"
REPORT_RESERVE = 30        # seconds kept after the workers are stopped: the calibration report, the summary
SUMMARY_RESERVE = 8        # the same without a calibration to report
MACHINE_TIMEOUT = 180      # python + torch + a CUDA query, on a machine that is starting
SEEDS = 10

MACHINE_SCRIPT = r"""
import importlib.util, json, os, platform, sys, warnings
info = {"python": platform.python_version(), "executable": sys.executable, "cpus": os.cpu_count(),
        "platform": platform.platform()}
try:
    import torch
    info["torch"] = torch.__version__
    info["torch_cuda"] = torch.version.cuda
    info["cuda"] = bool(torch.cuda.is_available())
    if info["cuda"]:
        info["gpus"] = torch.cuda.device_count()
        info["gpu"] = torch.cuda.get_device_name(0)
        info["capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
except Exception as error:
    info["torch_error"] = f"{type(error).__name__}: {error}"
    info["cuda"] = False
from importlib import metadata
info["packages"] = {}
for name in ("numpy", "torchvision", "pytest", "pytest-timeout", "nbformat", "jsonschema", "tqdm", "nbgrader",
             "nbclient", "ipykernel", "jupyter_client"):
    try:
        info["packages"][name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        info["packages"][name] = None
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nnkit.sandbox import BWRAP, bwrap_available
        info["bwrap"] = BWRAP if bwrap_available() else None
except Exception as error:
    info["bwrap_error"] = f"{type(error).__name__}: {error}"
info["mnist_root"] = os.environ.get("MNIST_ROOT")
print(json.dumps(info))
"""


# ------------------------------------------------------------------------------------ the records
class Results:
    """OUT/results.jsonl, one JSON object a line, written as each result arrives."""

    def __init__(self, path: Path, start: float):
        self.path = path
        self.start = start
        self.records: list[dict] = []
        self._lock = threading.Lock()
        self._file = open(path, "w")

    def add(self, record: dict) -> dict:
        record = {"t": round(time.monotonic() - self.start, 1), **record}
        with self._lock:
            self.records.append(record)
            self._file.write(json.dumps(record, default=str) + "\n")
            self._file.flush()
        return record

    def close(self) -> None:
        self._file.close()

    def of(self, part: str, **match) -> list[dict]:
        with self._lock:
            return [r for r in self.records if r.get("part") == part
                    and all(r.get(k) == v for k, v in match.items())]


def _say(text: str) -> None:
    print(text, flush=True)


def _number(value):
    """A float for JSON: non-finite values as their names (json has no NaN)."""
    value = float(value)
    return value if math.isfinite(value) else str(value)


def _float(value) -> float:
    return float(value)


# --------------------------------------------------------------------------- processes and the deadline
def become_subreaper() -> bool:
    """Make this process the one that orphans of its workers' trees are handed to, so that at the
    deadline every process they started, in whatever session, can be found and killed."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0   # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def descendants(root: int) -> list[int]:
    """Every process below `root`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(workers: list["Worker"]) -> None:
    """SIGKILL every process below this one, the workers' process groups with them: each round takes
    the whole tree first and then kills it, so that nothing is orphaned out of sight before it is
    seen (several rounds: a process may start another as a round goes)."""
    for _ in range(5):
        left = [pid for pid in descendants(os.getpid()) if not _is_zombie(pid)]
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for worker in workers:
            worker.kill()
        if not left:
            return
        time.sleep(0.2)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
        return stat[stat.rindex(")") + 2] == "Z"
    except OSError:
        return True


def reap_orphans(known: set[int]) -> None:
    """Collect the exit status of adopted orphans (not of our own workers: their Popen does)."""
    for pid in descendants(os.getpid()):
        if pid not in known and _is_zombie(pid):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


class Worker:
    """`python -m nnkit.gpu_check --worker ...` in a session of its own; each JSON line it prints
    goes to `handle(record)` as it comes."""

    def __init__(self, name: str, part: str, argv: list[str], out: Path, handle, env: dict | None = None,
                 feed: bool = False):
        self.name, self.part, self.handle = name, part, handle
        self.log_path = out / "logs" / f"{name}.log"
        self.log = open(self.log_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "nnkit.gpu_check", "--worker", *argv],
                                     stdout=subprocess.PIPE, stderr=self.log,
                                     stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
                                     env=env, start_new_session=True)
        self.reader = threading.Thread(target=self._read, name=f"read-{name}", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            try:
                self.handle(record)
            except Exception as error:   # a bug here must not stop the reading
                print(f"gpu_check: could not take {self.name}'s line ({error}): {line[:200]}", file=sys.stderr)

    def done(self) -> bool:
        return self.proc.poll() is not None

    def send(self, line: str | None) -> None:
        """Hand a fed worker its next line of work; None: there is no more (it then exits)."""
        try:
            if line is None:
                self.proc.stdin.close()
            else:
                self.proc.stdin.write(line.encode() + b"\n")
                self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def finish(self) -> int:
        code = self.proc.wait()
        self.reader.join(timeout=10)
        self.log.close()
        return code

    def log_tail(self, n: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


# ------------------------------------------------------------------------------------ the orchestrator
def check_machine(env: dict) -> dict:
    try:
        done = subprocess.run([sys.executable, "-c", MACHINE_SCRIPT], capture_output=True, text=True,
                              timeout=MACHINE_TIMEOUT, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"cuda": False, "error": f"the machine check took over {MACHINE_TIMEOUT} s"}
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"cuda": False, "error": f"the machine check failed (exit {done.returncode}): {done.stderr[-1500:]}"}


def describe_machine(info: dict) -> str:
    parts = [f"Python {info.get('python', '?')}"]
    if info.get("torch"):
        parts.append(f"torch {info['torch']}" + (f" (CUDA {info['torch_cuda']})" if info.get("torch_cuda") else ""))
    if info.get("cuda"):
        parts.append(f"{info.get('gpu')} ({info.get('gpus')} GPU, compute capability {info.get('capability')})")
    parts.append(f"{info.get('cpus')} cores")
    parts.append("bubblewrap: " + ("usable" if info.get("bwrap") else "not usable (resource limits only)"))
    packages = info.get("packages") or {}
    parts.append("nbgrader " + (packages.get("nbgrader") or "not installed"))
    return ", ".join(parts)


class Check:
    """One run of `make gpu-check`."""

    def __init__(self, args, root: Path):
        self.args = args
        self.root = root
        self.out = Path(args.out).resolve()
        (self.out / "logs").mkdir(parents=True, exist_ok=True)
        self.start = time.monotonic()
        self.deadline = self.start + args.deadline
        self.results = Results(self.out / "results.jsonl", self.start)
        self.workers: list[Worker] = []
        self.cpus = os.cpu_count() or 2
        self.env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[1]),
                                                              os.environ.get("PYTHONPATH")) if p)
        self.calibration: dict[str, dict] = {}      # assignment -> {"claims": [...], "values": {index: {seed: v}}}
        self.bank_plan: list[dict] = []
        self.bank_report: dict = {}
        self.skipped: dict[str, str] = {}
        self.machine: dict = {}
        self.calibration_written: Path | None = None

    # -- the parts -----------------------------------------------------------------------------
    def run(self) -> int:
        parts = self.args.only or list(PARTS)
        _say(f"gpu-check: deadline {self.args.deadline:g} s, results -> {self.out / 'results.jsonl'}")
        self.machine = check_machine(self.env)
        cuda = bool(self.machine.get("cuda"))
        record = self.results.add({"part": "machine", **self.machine,
                                   "status": "error" if self.machine.get("error") or self.machine.get("torch_error") else "ok"})
        if record["status"] == "error":
            _say(f"machine: cannot check: {self.machine.get('error') or self.machine.get('torch_error')}")
            self.skipped.update({p: "the machine check failed" for p in parts if p != "machine"})
            return self.finish()
        _say("machine: " + describe_machine(self.machine))
        if not cuda:
            _say(NO_GPU)
        if not self.machine.get("mnist_root"):
            _say("note: MNIST_ROOT is not set: the graders' MNIST checks will fail (make gpu-check sets it)")
        from nnkit.grading.course import Course

        course = Course(self.root)
        assignments = course.assignments()
        devices = ["cuda", "cpu"] if cuda else ["cpu"]
        bank_device = "cuda" if cuda else ("cpu" if self.args.bank_on_cpu else None)
        autograde_device = "cuda" if cuda else ("cpu" if self.args.autograde_on_cpu else None)
        self.calibrate_device = "cuda" if cuda else ("cpu" if self.args.calibrate_on_cpu else None)
        heavy = ("bank" in parts and bank_device) or ("calibrate" in parts and self.calibrate_device)

        if "reference" in parts:
            self.expected_reference = [(a, d) for a in assignments for d in devices]
            workers = max(1, min(len(self.expected_reference), self.cpus // 2 if heavy else self.cpus))
            self.workers.append(Worker("reference", "reference",
                                       ["reference", "--course", str(self.root), "--devices", ",".join(devices),
                                        "--workers", str(workers)], self.out, self._on_reference, self.env))
        if "hog" in parts:
            if cuda:
                self.workers.append(Worker("hog", "hog", ["hog", "--course", str(self.root)], self.out,
                                           self._on_hog, self.env))
            else:
                self._skip("hog", "no GPU: the cap's wiring is tested on the CPU (tests/test_gpu_cap.py)")
        if "bank" in parts:
            if bank_device:
                self.bank_device = bank_device
                self.workers.append(Worker("bank", "bank", ["bank", "--course", str(self.root), "--device", bank_device,
                                                            "--workers", str(max(1, self.cpus // 2))],
                                           self.out, self._on_bank, self.env))
            else:
                self._skip("bank", "no GPU; the mutant bank runs on the CPU only with --bank-on-cpu (about 10 minutes "
                                   "on 2 cores; `make mutants` does the same)")
        if "calibrate" in parts:
            if self.calibrate_device:
                # One unit of work: one assignment's claims on one seed. The workers (a process each, half
                # the cores, below the reference runs and the bank in priority) take the next unit as they
                # finish one, so the slow assignments (ps2 trains on MNIST) spread over all of them.
                self.calibration_units = [(a, seed) for seed in range(self.args.seeds) for a in assignments]
                self.calibration_lock = threading.Lock()
                for k in range(max(1, min(self.cpus // 2, len(self.calibration_units)))):
                    worker = Worker(f"calibrate-{k}", "calibrate",
                                    ["calibrate", "--course", str(self.root), "--device", self.calibrate_device,
                                     "--nice", "5"], self.out, None, self.env, feed=True)
                    worker.handle = self._calibration_handler(worker)
                    self.workers.append(worker)
                    self._next_unit(worker)
            else:
                self._skip("calibrate", "no GPU; `make calibrate` measures the claims on the CPU (--calibrate-on-cpu: "
                                        "here, into the output folder)")
        if "autograde" in parts:
            packages = self.machine.get("packages") or {}
            if not autograde_device:
                self._skip("autograde", "no GPU; --autograde-on-cpu runs it on the CPU")
            elif not (packages.get("nbgrader") and packages.get("nbclient") and packages.get("ipykernel")):
                self._skip("autograde", self._no_jupyter())
            else:
                self.autograde_device = autograde_device
                chosen = self.args.autograde or assignments[:1]
                self.expected_autograde = assignments if "all" in chosen else chosen
                for assignment in self.expected_autograde:
                    self.workers.append(Worker(f"autograde-{assignment}", "autograde",
                                               ["autograde", "--course", str(self.root), "--assignment", assignment,
                                                "--device", autograde_device, "--out", str(self.out)],
                                               self.out, self._on_autograde, self.env))
        self.wait()
        if "calibrate" in parts and self.calibrate_device:
            self.write_calibration()
        return self.finish()

    def _skip(self, part: str, why: str) -> None:
        self.skipped[part] = why
        self.results.add({"part": part, "status": "skipped", "why": why})
        _say(f"{part}: skipped: {why}")

    def _no_jupyter(self) -> str:
        try:
            manifest = json.loads((self.root / "carry" / "manifest.json").read_text())
        except (OSError, ValueError):
            manifest = {}
        jupyter = manifest.get("jupyter") or {}
        if jupyter and not jupyter.get("fits"):
            return jupyter.get("message") or "the wheelhouse cannot carry the Jupyter stack"
        if jupyter:
            return (f"nbgrader is not installed here; the wheelhouse could carry the Jupyter stack "
                    f"({jupyter.get('mb')} MB): `make wheelhouse-full`")
        return "nbgrader is not installed here, and no wheelhouse (make wheelhouse-full) carried it"

    def wait(self) -> None:
        calibrating = any(w.part == "calibrate" for w in self.workers)
        stop_at = self.deadline - (REPORT_RESERVE if calibrating else SUMMARY_RESERVE)
        known = set()
        while True:
            known = {w.proc.pid for w in self.workers}
            if all(w.done() for w in self.workers):
                break
            if time.monotonic() >= stop_at:
                running = [w.name for w in self.workers if not w.done()]
                _say(f"deadline: stopping {', '.join(running)} after {time.monotonic() - self.start:.0f} s")
                for worker in self.workers:
                    if not worker.done():
                        worker.stopped = True
                kill_tree(self.workers)
                break
            reap_orphans(known)
            time.sleep(1)
        for worker in self.workers:
            code = worker.finish()
            worker.code = code
            if code != 0 and not getattr(worker, "stopped", False):
                self.results.add({"part": worker.part, "worker": worker.name, "status": "error",
                                  "why": f"the worker exited with status {code}", "log_tail": worker.log_tail()})
                _say(f"{worker.part}: the worker {worker.name} exited with status {code}; its log: {worker.log_path}")
        kill_tree([])          # anything its workers left behind
        reap_orphans(set())

    # -- what the workers report -------------------------------------------------------------
    def _on_reference(self, record: dict) -> None:
        record = self.results.add({"part": "reference", **record})
        if record.get("error"):
            _say(f"reference {record['assignment']} on {record['device']}: ERROR {record['error']}")
        else:
            _say(f"reference {record['assignment']} on {record['device']}: {record['score']:g}/{record['max_score']:g}, "
                 f"{record['status']} in {record['seconds']:.0f} s (graders on {record['ran_on']})")

    def _on_hog(self, record: dict) -> None:
        record = self.results.add({"part": "hog", **record})
        _say(f"hog: {record.get('status')}: {record.get('what', '')}")

    def _on_bank(self, record: dict) -> None:
        if record.get("kind") == "plan":
            self.bank_plan = record["variants"]
            self.results.add({"part": "bank", **record})
            _say(f"bank: {len(self.bank_plan)} variants on {self.bank_device}")
        elif record.get("kind") == "report":
            self.bank_report = record
            self.results.add({"part": "bank", **record})
        else:
            record = self.results.add({"part": "bank", "status": "pass" if record.get("as_expected") else "fail", **record})
            if record["status"] == "fail":
                _say(f"bank: BAD {record['variant']}: " + (", ".join(record.get("failed_cells") or []) or "passes every grader"))

    def _next_unit(self, worker: Worker) -> None:
        with self.calibration_lock:
            unit = self.calibration_units.pop(0) if self.calibration_units else None
        worker.send(None if unit is None else f"{unit[0]} {unit[1]}")

    def _calibration_handler(self, worker: Worker):
        def handle(record: dict) -> None:
            if record.get("kind") == "unit-done":
                self._next_unit(worker)
                return
            assignment = record["assignment"]
            mine = self.calibration.setdefault(assignment, {"claims": None, "values": {}, "errors": {}})
            if record.get("kind") == "plan":
                mine["claims"] = record["claims"]
                return
            index, seed = int(record["index"]), int(record["seed"])
            if "error" in record:
                mine["errors"].setdefault(index, record["error"])
            else:
                mine["values"].setdefault(index, {})[seed] = record["value"]
            self.results.add({"part": "calibrate", **record})
            values = mine["values"].get(index, {})
            if len(values) == self.args.seeds and mine["claims"]:
                claim = mine["claims"][index]
                _say(f"calibrate {assignment}: {claim['claim']}: {_holds(claim, values.values())}/{self.args.seeds} seeds")
        return handle

    def _on_autograde(self, record: dict) -> None:
        record = self.results.add({"part": "autograde", **record})
        _say(f"autograde {record.get('assignment')}: {record.get('status')}: {record.get('detail', '')}")

    # -- the calibration report ----------------------------------------------------------------
    def write_calibration(self) -> None:
        complete, not_reached = [], []
        for assignment in sorted(self.calibration):
            mine = self.calibration[assignment]
            for index, claim in enumerate(mine["claims"] or []):
                values = mine["values"].get(index, {})
                row = {"assignment": assignment, **{k: claim[k] for k in ("claim", "statistic", "op", "threshold")}}
                if len(values) == self.args.seeds:
                    complete.append({**row, "values": [values[s] for s in sorted(values)]})
                elif index in mine["errors"]:
                    not_reached.append({**row, "seeds_done": len(values), "seeds": self.args.seeds,
                                        "why": "could not be measured: " + mine["errors"][index][:200]})
                else:
                    not_reached.append({**row, "seeds_done": len(values), "seeds": self.args.seeds})
        self.calibration_missing = sorted({a for a, _ in self.calibration_units} - set(self.calibration))
        for row in not_reached:
            self.results.add({"part": "calibrate", "status": "error" if row.get("why") else NOT_REACHED, **row})
        payload = self.out / "calibration-input.json"
        payload.write_text(json.dumps({"claims": complete, "not_reached": not_reached}))
        # On CUDA the report is the course's calibration/cuda.md; a CPU run here never replaces calibration/cpu.md.
        folder = self.root / "calibration" if self.calibrate_device == "cuda" else self.out / "calibration"
        try:
            done = subprocess.run([sys.executable, "-m", "nnkit.gpu_check", "--worker", "calibration-report",
                                   "--course", str(self.root), "--input", str(payload), "--device",
                                   self.calibrate_device, "--report-dir", str(folder)],
                                  capture_output=True, text=True, env=self.env,
                                  timeout=max(20, REPORT_RESERVE - 5), stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            self.results.add({"part": "calibrate", "status": "error", "why": "writing the calibration report took too long"})
            return
        for line in done.stdout.splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("kind") == "written":
                    self.calibration_written = Path(record["path"])
                else:
                    self.results.add({"part": "calibrate", "status": "pass" if record.get("holds") else "fail", **record})
        if done.returncode != 0:
            self.results.add({"part": "calibrate", "status": "error",
                              "why": f"writing the report failed (exit {done.returncode})", "log_tail": done.stderr[-1500:]})

    # -- the summary ----------------------------------------------------------------------------
    def finish(self) -> int:
        lines, failures, unreached, late = summarise(self)
        for record in late:        # what no worker reported: one record each, as the calibration's claims have
            self.results.add({**record, "status": NOT_REACHED})
        text = "\n".join(lines) + "\n"
        (self.out / "summary.md").write_text(text)
        self.results.add({"part": "summary", "failures": failures, "not_reached": unreached,
                          "seconds": round(time.monotonic() - self.start, 1)})
        self.results.close()
        print("\n" + text, flush=True)
        return 1 if failures else 0


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _holds(claim: dict, values) -> int:
    import operator

    ops = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
    return sum(ops[claim["op"]](_float(v), claim["threshold"]) for v in values)


def _fmt_score(record: dict | None) -> str:
    if record is None:
        return NOT_REACHED
    if record.get("error"):
        return "error"
    text = f"{record['score']:g}/{record['max_score']:g}"
    return text if record.get("status") == "graded" else f"{text} ({record.get('status')})"


def summarise(check: Check) -> tuple[list[str], list[str], list[str], list[dict]]:
    """The summary's lines, the failures, what was not reached in time, and a record for each item
    of it that no worker reported (the calibration's claims have theirs already)."""
    results, failures, unreached, late = check.results, [], [], []
    machine = check.machine
    lines = [f"# GPU check, {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M')} UTC", "",
             f"Machine: {describe_machine(machine)}." if not machine.get("error") and not machine.get("torch_error")
             else f"Machine: cannot check: {machine.get('error') or machine.get('torch_error')}"]
    if machine.get("torch_error") or machine.get("error"):
        failures.append("the machine check failed")
    elif not machine.get("cuda"):
        lines.append(NO_GPU + ".")
    lines.append(f"Deadline {check.args.deadline:g} s; took {time.monotonic() - check.start:.0f} s.")

    if hasattr(check, "expected_reference"):
        devices = sorted({d for _, d in check.expected_reference}, key=lambda d: d != "cuda")
        lines += ["", "## Reference solutions, graded on " + " and ".join(devices), "",
                  "Passes when the score is the same on every device, full marks, with no grader error.", ""]
        if devices == ["cuda", "cpu"]:
            lines += ["| assignment | score cuda | score cpu | seconds cuda | seconds cpu | cuda / cpu | verdict |",
                      "|---|---|---|---|---|---|---|"]
        else:
            lines += [f"| assignment | score {devices[0]} | seconds {devices[0]} | verdict |", "|---|---|---|---|"]
        for assignment in sorted({a for a, _ in check.expected_reference}):
            runs = {d: (results.of("reference", assignment=assignment, device=d) or [None])[-1] for d in devices}
            verdict = _reference_verdict(runs)
            if verdict.startswith("FAIL"):
                failures.append(f"reference {assignment}: {verdict}")
            for d, r in runs.items():
                if r is None:
                    unreached.append(f"reference {assignment} on {d}")
                    late.append({"part": "reference", "assignment": assignment, "device": d})
            secs = {d: (f"{r['seconds']:.0f}" if r and not r.get("error") else "-") for d, r in runs.items()}
            if devices == ["cuda", "cpu"]:
                ratio = ("-" if "-" in secs.values() or not runs["cpu"]["seconds"]
                         else f"{runs['cuda']['seconds'] / runs['cpu']['seconds']:.2f}")
                lines.append(f"| {assignment} | {_fmt_score(runs['cuda'])} | {_fmt_score(runs['cpu'])} | {secs['cuda']} "
                             f"| {secs['cpu']} | {ratio} | {verdict} |")
            else:
                lines.append(f"| {assignment} | {_fmt_score(runs[devices[0]])} | {secs[devices[0]]} | {verdict} |")
        for r in results.of("reference"):
            for error in r.get("grader_errors") or []:
                lines.append(f"* grader error, {r['assignment']} on {r['device']}: {error.get('type')}: "
                             f"{error.get('message')} ({error.get('file')}:{error.get('line')})")
            if r.get("status") not in (None, "graded") and r.get("detail_tail"):
                lines.append(f"* {r['assignment']} on {r['device']} {r['status']}; the checker's last output:")
                lines += ["  " + x for x in r["detail_tail"].splitlines()[-12:]]

    hog = [r for r in results.of("hog") if r.get("status") in ("pass", "fail")]
    if hog:
        lines += ["", "## A GPU-memory hog among honest hand-ins", "", f"{hog[0]['status']}: {hog[0]['what']}"]
        if hog[0]["status"] == "fail":
            failures.append("hog: " + hog[0]["what"])
    elif any(w.part == "hog" for w in check.workers):
        unreached.append("hog")

    if hasattr(check, "bank_device"):
        lines += ["", f"## Mutant bank on {check.bank_device}", ""]
        done = [r for r in results.of("bank") if "variant" in r]
        if check.bank_report:
            lines += ["```", check.bank_report["text"].splitlines()[-1], "```"]
            bad = [x for x in check.bank_report["text"].splitlines() if x.startswith("BAD")]
            lines += [f"    {x}" for x in bad]
            if not check.bank_report.get("ok"):
                failures.append("mutant bank: " + check.bank_report["text"].splitlines()[-1])
        else:
            wrong = [r for r in done if r["variant_kind"] == "wrong"]
            correct = [r for r in done if r["variant_kind"] == "correct"]
            lines.append(f"{len(done)} of {len(check.bank_plan) or '?'} variants checked before the deadline: "
                         f"{sum(r['caught'] for r in wrong)}/{len(wrong)} wrong ones caught, "
                         f"{sum(not r['as_expected'] for r in correct)}/{len(correct)} correct ones failed.")
            for r in done:
                if not r["as_expected"]:
                    lines.append(f"    BAD {r['variant']}: " + (", ".join(r.get("failed_cells") or []) or "passes every grader"))
                    failures.append(f"mutant bank: {r['variant']}")
            seen = {r["variant"] for r in done}
            left = [v for v in check.bank_plan if v["label"] not in seen]
            late += [{"part": "bank", "variant": v["label"], "variant_kind": v["kind"]} for v in left]
            if left or not check.bank_plan:
                unreached.append(f"mutant bank: {len(left) if check.bank_plan else 'all'} variants")
                by: dict[str, int] = {}
                for v in left:
                    by[v["label"].split("/")[0]] = by.get(v["label"].split("/")[0], 0) + 1
                lines.append(f"{NOT_REACHED}: " + (", ".join(f"{n} of {a}" for a, n in by.items())
                                                    if check.bank_plan else "the whole bank")
                             + " (each listed in results.jsonl)")

    if check.calibration or any(w.part == "calibrate" for w in check.workers):
        lines += ["", f"## Calibration on {check.calibrate_device}, {check.args.seeds} seeds", ""]
        claims = [r for r in results.of("calibrate") if r.get("status") in ("pass", "fail")]
        broken = [r for r in claims if r["status"] == "fail"]
        errors = [r for r in results.of("calibrate") if r.get("status") == "error" and not r.get("worker")]
        late = [r for r in results.of("calibrate") if r.get("status") == NOT_REACHED]
        lines.append(f"{len(claims)} claims measured on every seed: {len(claims) - len(broken)} hold on every seed, "
                     f"{len(broken)} do not; {len(late)} {NOT_REACHED}; {len(errors)} errors."
                     + (f" Report: {_shown(check.calibration_written, check.root)} and .json."
                        if check.calibration_written else ""))
        for r in broken:
            lines.append(f"* DOES NOT HOLD: {r['assignment']}: {r['claim']} ({r['holds_on']}/{r['seeds']} seeds, "
                         f"margin {r['margin']:.4g})")
            failures.append(f"claim {r['assignment']}: {r['claim']}")
        for r in errors:
            lines.append(f"* ERROR: {r.get('assignment', '')}: {r.get('claim', '')} {r.get('why', '')}")
            failures.append(f"calibration: {r.get('claim') or r.get('why')}")
        for assignment in getattr(check, "calibration_missing", []):
            unreached.append(f"calibration {assignment} (not started)")
            lines.append(f"* {NOT_REACHED}: {assignment}: no seed of it was started")
        if late:
            unreached.append(f"calibration: {len(late)} claims")
            by = {}
            for r in late:
                by.setdefault(r["assignment"], []).append(r["claim"])
            for assignment, names in by.items():
                lines.append(f"* {NOT_REACHED}: {assignment}: {len(names)} claims ({'; '.join(names[:5])}"
                             f"{' ...' if len(names) > 5 else ''})")

    if hasattr(check, "expected_autograde"):
        lines += ["", f"## nbgrader autograde of the reference hand-ins, graders on {check.autograde_device}", ""]
        for assignment in check.expected_autograde:
            got = results.of("autograde", assignment=assignment)
            if not got:
                unreached.append(f"autograde {assignment}")
                late.append({"part": "autograde", "assignment": assignment})
                lines.append(f"* {assignment}: {NOT_REACHED}")
                continue
            r = got[-1]
            lines.append(f"* {assignment}: {r['status']}: {r.get('detail', '')}")
            if r["status"] != "pass":
                failures.append(f"autograde {assignment}: {r.get('detail', '')}")

    worker_errors = [r for r in results.records if r.get("status") == "error" and r.get("worker")]
    for r in worker_errors:
        failures.append(f"{r['worker']}: {r['why']}")
    if check.skipped:
        lines += ["", "## Skipped", ""] + [f"* {part}: {why}" for part, why in check.skipped.items()]
    lines += ["", "## Verdict", ""]
    if failures:
        lines.append(f"FAILED: {len(failures)} " + ("check" if len(failures) == 1 else "checks") + " failed:")
        lines += [f"* {f}" for f in failures]
    else:
        lines.append("PASSED: every check that ran passed.")
    if unreached:
        lines.append(f"{NOT_REACHED.capitalize()}: " + "; ".join(unreached) + ".")
    return lines, failures, unreached, late


def _reference_verdict(runs: dict) -> str:
    if any(r is None for r in runs.values()):
        return NOT_REACHED if all(r is None for r in runs.values()) else f"incomplete ({NOT_REACHED})"
    problems = []
    for device, r in runs.items():
        if r.get("error"):
            problems.append(f"{device}: {r['error']}")
        elif r["status"] != "graded":
            problems.append(f"{device}: {r['status']}")
        elif r["score"] != r["max_score"]:
            problems.append(f"{device}: {r['score']:g} of {r['max_score']:g}")
        if r.get("grader_errors"):
            problems.append(f"{device}: {len(r['grader_errors'])} grader errors")
    scores = {r.get("score") for r in runs.values()}
    if len(scores) > 1:
        problems.insert(0, "scores differ")
    return "FAIL: " + "; ".join(problems) if problems else "pass"


# ---------------------------------------------------------------------------------------- workers
_emit_lock = threading.Lock()


def emit(record: dict) -> None:
    with _emit_lock:
        sys.__stdout__.write(json.dumps(record, default=str) + "\n")
        sys.__stdout__.flush()


def _quiet_stdout() -> None:
    """Anything a worker prints goes to its log (stderr); stdout carries only `emit`'s JSON lines."""
    sys.stdout = sys.stderr


def worker_reference(args) -> int:
    from nnkit.grading.course import Course
    from nnkit.grading.runner import run_graders

    course = Course(Path(args.course))
    pairs = [(a, d) for a in course.assignments() for d in args.devices.split(",")]

    def one(assignment: str, device: str) -> None:
        started = time.monotonic()
        try:
            run = run_graders(course, assignment, course.root / "solutions" / f"{assignment}.ipynb",
                              device=device, fork_checker=True)
        except Exception as error:
            emit({"assignment": assignment, "device": device, "error": f"{type(error).__name__}: {error}",
                  "seconds": round(time.monotonic() - started, 1)})
            return
        record = {"assignment": assignment, "device": device, "score": run.score, "max_score": run.max_score,
                  "status": str(run.status), "seconds": round(run.seconds, 1), "ran_on": run.device,
                  "grader_errors": list(getattr(run, "grader_errors", []) or []),
                  "cells": {gid: {"score": c.score, "max": c.max_points, "passed": c.passed, "total": c.total,
                                  "messages": c.messages[:3]} for gid, c in run.cells.items()},
                  "notes": run.notes}
        if str(run.status) != "graded" or run.score != run.max_score:
            record["detail_tail"] = run.detail[-2000:]
        emit(record)

    with ThreadPoolExecutor(max(1, args.workers)) as pool:
        for future in [pool.submit(one, a, d) for a, d in pairs]:
            future.result()
    return 0


HOG_SOURCE = """
import torch
HELD = []
try:
    while True:                                   # 1 GiB at a time, until the GPU refuses
        HELD.append(torch.empty(1 << 28, device="cuda"))
except RuntimeError as error:
    REFUSED = str(error).splitlines()[0][:200]


def held():
    return sum(t.numel() * t.element_size() for t in HELD), REFUSED
"""


def worker_hog(args) -> int:
    """A memory hog in a sandboxed probe (capped as every probe on CUDA is), and three honest ps1
    reference runs on CUDA started while it holds its memory."""
    import tempfile

    from nnkit.grading.course import Course
    from nnkit.grading.remote import Probe
    from nnkit.grading.runner import run_graders
    from nnkit.sandbox import Limits, sandbox_argv

    course = Course(Path(args.course))
    limits = Limits(gpu=True)
    with tempfile.TemporaryDirectory(prefix="nnkit-hog-") as tmp:
        hog = Probe(HOG_SOURCE, Path(tmp), default_budget=120,
                    wrap=lambda argv, folder: sandbox_argv(argv, writable=[folder], hidden=[course.root], limits=limits))
        try:
            held, refused = hog.module.held()
            solution = course.root / "solutions" / "ps1_learning_rates.ipynb"
            with ThreadPoolExecutor(3) as pool:
                runs = list(pool.map(lambda _: run_graders(course, "ps1_learning_rates", solution, device="cuda"),
                                     range(3)))
        finally:
            hog.close()
    honest = [f"{r.score:g}/{r.max_score:g}" for r in runs]
    ok = held <= limits.gpu_memory_bytes and all(r.score == r.max_score for r in runs)
    emit({"status": "pass" if ok else "fail", "hog_held_bytes": held, "cap_bytes": limits.gpu_memory_bytes,
          "hog_refused": refused, "honest_scores": honest,
          "what": f"the hog got {held / 2**30:.1f} GiB (cap {limits.gpu_memory_bytes / 2**30:.0f} GiB: '{refused}'); "
                  f"honest ps1 runs beside it: {', '.join(honest)}"})
    return 0


def worker_bank(args) -> int:
    from nnkit.grading.course import Course
    from nnkit.variants import check_all, discover, report

    course = Course(Path(args.course))
    variants = discover(course.variants_dir, None)
    emit({"kind": "plan", "variants": [{"label": v.label, "kind": v.kind} for v in variants]})

    def on_result(r) -> None:
        emit({"variant": r.variant.label, "variant_kind": r.variant.kind, "as_expected": r.as_expected, "caught": r.caught,
              "failed_cells": r.failed_cells, "run_status": str(r.status), "messages": r.messages[:3],
              "grader_errors": list(getattr(r, "grader_errors", []) or [])})

    results = check_all(course, variants, device=args.device, workers=args.workers, on_result=on_result)
    text, ok = report(results)
    emit({"kind": "report", "text": text, "ok": ok})
    return 0


def worker_calibrate(args) -> int:
    """Measure the claims of the units "ASSIGNMENT SEED" read from stdin, one line each, as
    `nnkit calibrate` would (nnkit.cli.cmd_calibrate); "unit-done" after each asks for the next."""
    from nnkit.calibration import load_claims
    from nnkit.grading.course import Course
    from nnkit.grading.devices import pick_device
    from nnkit.grading.precision import use_ieee_float32
    from nnkit.threads import GRADING_THREADS, use_grading_threads

    course = Course(Path(args.course))
    device = pick_device(args.device)
    use_grading_threads(GRADING_THREADS)
    use_ieee_float32()
    loaded: dict[str, list] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        assignment, seed = line.split()[0], int(line.split()[1])
        if assignment not in loaded:
            loaded[assignment] = load_claims(course, assignment)
            sys.path.insert(0, str(course.grader_dir(assignment)))   # the claims import their reference lazily
            emit({"kind": "plan", "assignment": assignment,
                  "claims": [{"claim": c.name, "statistic": c.statistic, "op": c.op, "threshold": c.threshold}
                             for c in loaded[assignment]]})
        for index, claim in enumerate(loaded[assignment]):
            try:
                value = claim.measure(seed, device)
            except Exception as error:
                emit({"assignment": assignment, "index": index, "seed": seed, "claim": claim.name,
                      "error": f"{type(error).__name__}: {error}"})
                continue
            emit({"assignment": assignment, "index": index, "seed": seed, "claim": claim.name,
                  "value": _number(value)})
        emit({"kind": "unit-done", "assignment": assignment, "seed": seed})
    return 0


def worker_calibration_report(args) -> int:
    from nnkit.calibration import summarise as summarise_claim, write_report
    from nnkit.grading.devices import pick_device

    payload = json.loads(Path(args.input).read_text())
    results = []
    for row in payload["claims"]:
        result = summarise_claim(row["assignment"], row["claim"], row["statistic"], row["op"], row["threshold"],
                                 [_float(v) for v in row["values"]])
        results.append(result)
        emit({"assignment": result.assignment, "claim": result.claim, "holds": result.holds,
              "holds_on": result.holds_on, "seeds": result.seeds, "margin": _number(result.margin),
              "minimum": _number(result.minimum), "median": _number(result.median), "maximum": _number(result.maximum)})
    path = write_report(results, Path(args.report_dir), pick_device(args.device),
                        not_reached=payload["not_reached"], keep_earlier=False)
    emit({"kind": "written", "path": str(path)})
    return 0


def worker_autograde(args) -> int:
    """One `nbgrader autograde` of the reference hand-in, in a copy of the course (its own gradebook)."""
    import nbformat

    from nnkit.demo import filled_release, reference_answers
    from nnkit.grading.course import Course
    from nnkit.grading.notebook import grade_id, hidden_grader_cells, read_notebook
    from nnkit.grading.results import cell_points
    from nnkit.grading.status import read_record

    original = Course(Path(args.course))
    assignment = args.assignment
    keep = Path(args.out) / "autograde" / assignment
    keep.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"nnkit-gpu-check-{assignment}-") as tmp:
        root = Path(tmp) / "course"
        root.mkdir()
        shutil.copy2(original.root / "nbgrader_config.py", root)
        for folder in ("source", "release", "grader_tests"):
            shutil.copytree(original.root / folder, root / folder,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        course = Course(root)
        source = course.source_notebook(assignment)
        handin = root / "submitted" / "reference" / assignment
        handin.mkdir(parents=True)
        nbformat.write(filled_release(root / "release" / assignment / source.name, reference_answers(source)),
                       str(handin / source.name))
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        log = open(keep / "nbgrader.log", "w")
        steps = [["generate_assignment", assignment, "--force", f"--CourseDirectory.release_directory={tmp}/release"],
                 ["autograde", assignment, "--student", "reference", "--force",
                  f"--RunHiddenGraders.device={args.device}"]]
        for step in steps:
            log.write(f"$ nbgrader {' '.join(step)}\n")
            log.flush()
            done = subprocess.run([sys.executable, "-m", "nbgrader", *step], cwd=root, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            if done.returncode != 0:
                log.close()
                emit({"assignment": assignment, "status": "fail", "seconds": round(time.monotonic() - started, 1),
                      "detail": f"nbgrader {step[0]} exited with status {done.returncode} (log: {keep / 'nbgrader.log'})"})
                return 0
        log.close()
        folder = root / "autograded" / "reference" / assignment
        record = read_record(folder)
        for name in (source.name, ".nnkit-status.json"):
            if (folder / name).is_file():
                shutil.copy2(folder / name, keep / name.lstrip("."))
        hidden = [grade_id(c) for c in hidden_grader_cells(read_notebook(source))]
        points = cell_points(read_notebook(source))
        from nnkit.demo import cell_scores

        scores = cell_scores(course, assignment, "reference")
        got, top = sum(scores.get(c, 0) for c in hidden), sum(points.get(c, 0) for c in hidden)
    graders = (record.graders if record else {}) or {}
    device = str(graders.get("device", "?"))
    status = str(record.status) if record else "no record"
    ok = (record is not None and status == "graded" and str(graders.get("status")) == "graded" and got == top
          and (device.startswith("cuda") if args.device == "cuda" else True) and not graders.get("grader_errors"))
    emit({"assignment": assignment, "status": "pass" if ok else "fail", "seconds": round(time.monotonic() - started, 1),
          "hidden_score": got, "hidden_max": top, "record_status": status, "graders": graders,
          "detail": f"{status}, {got:g}/{top:g} hidden points, graders {graders.get('status', '?')} on {device} "
                    f"in {graders.get('seconds', '?')} s; whole autograde {time.monotonic() - started:.0f} s"})
    return 0


WORKERS = {"reference": worker_reference, "hog": worker_hog, "bank": worker_bank, "calibrate": worker_calibrate,
           "calibration-report": worker_calibration_report, "autograde": worker_autograde}


# ------------------------------------------------------------------------------------------- main
def _course_root(given: str | None) -> Path:
    if given:
        return Path(given).resolve()
    from nnkit.grading.course import Course

    return Course.containing(Path.cwd()).root


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnkit.gpu_check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deadline", type=float, default=450, help="seconds for the whole check (default 450)")
    parser.add_argument("--out", default="gpu-check", help="folder for results.jsonl, summary.md and logs/")
    parser.add_argument("--only", type=lambda s: [p for p in s.split(",") if p],
                        help=f"comma-separated parts, of: {', '.join(PARTS)} (default: all)")
    parser.add_argument("--bank-on-cpu", action="store_true", help="without a GPU, run the mutant bank on the CPU")
    parser.add_argument("--autograde-on-cpu", action="store_true", help="without a GPU, run the autograde on the CPU")
    parser.add_argument("--calibrate-on-cpu", action="store_true",
                        help="without a GPU, measure the claims on the CPU (report in OUT/calibration/, not calibration/)")
    parser.add_argument("--autograde", action="append", metavar="ASSIGNMENT",
                        help="the assignment(s) to autograde, or 'all' (default: the first, ps1)")
    parser.add_argument("--seeds", type=int, default=SEEDS, help="calibration seeds (default 10)")
    parser.add_argument("--course", help="the course folder (default: the one above the current folder)")
    # The workers (this module, started by the check itself).
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--devices", help=argparse.SUPPRESS)
    parser.add_argument("--device", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--assignment", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--report-dir", help=argparse.SUPPRESS)
    parser.add_argument("--nice", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        if args.nice:
            os.nice(args.nice)
        _quiet_stdout()
        return WORKERS[args.worker](args)

    if args.only and set(args.only) - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(set(args.only) - set(PARTS)))} (of: {', '.join(PARTS)})")
    root = _course_root(args.course)
    check = Check(args, root)
    become_subreaper()
    previous = signal.signal(signal.SIGTERM, _interrupted)
    try:
        return check.run()
    except KeyboardInterrupt:
        kill_tree(check.workers)
        print("gpu_check: interrupted; what had arrived is in " + str(check.results.path), file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        kill_tree(check.workers)


if __name__ == "__main__":
    sys.exit(main())

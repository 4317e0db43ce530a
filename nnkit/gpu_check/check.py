"""The orchestrator of `make gpu-check` (one `Check`): starts the parts' workers side by side, takes
their records as they come, stops them at the deadline, writes the calibration report and the summary."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from nnkit.gpu_check.machine import NO_GPU, check_machine, describe_machine
from nnkit.gpu_check.processes import Worker, kill_tree, reap_orphans
from nnkit.gpu_check.records import NOT_REACHED, Results, say
from nnkit.gpu_check.summary import seeds_holding, summarise
from nnkit.gpu_check.throughput import MIN_SECONDS as THROUGHPUT_MIN_SECONDS, describe_record

PARTS = ("machine", "reference", "hog", "bank", "calibrate", "autograde", "throughput")
REPORT_RESERVE = 30        # seconds kept after the workers are stopped: the calibration report, the summary
SUMMARY_RESERVE = 8        # the same without a calibration to report
SEEDS = 10


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
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[2]),
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
        say(f"gpu-check: deadline {self.args.deadline:g} s, results -> {self.out / 'results.jsonl'}")
        self.machine = check_machine(self.env)
        cuda = bool(self.machine.get("cuda"))
        record = self.results.add({"part": "machine", **self.machine,
                                   "status": "error" if self.machine.get("error") or self.machine.get("torch_error") else "ok"})
        if record["status"] == "error":
            say(f"machine: cannot check: {self.machine.get('error') or self.machine.get('torch_error')}")
            self.skipped.update({p: "the machine check failed" for p in parts if p != "machine"})
            return self.finish()
        say("machine: " + describe_machine(self.machine))
        if not cuda:
            say(NO_GPU)
        if not self.machine.get("mnist_root"):
            say("note: MNIST_ROOT is not set: the graders' MNIST checks will fail (make gpu-check sets it)")
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
        if "throughput" in parts:
            self._plan_throughput(cuda, assignments)
        self.wait()
        if getattr(self, "throughput_plan", None):     # alone on the machine, once the others are done
            with tempfile.TemporaryDirectory(prefix="nnkit-gpu-check-throughput-", ignore_cleanup_errors=True) as scratch:
                self._start_throughput(scratch)
                self.wait()
        if "calibrate" in parts and self.calibrate_device:
            self.write_calibration()
        return self.finish()

    def _skip(self, part: str, why: str) -> None:
        self.skipped[part] = why
        self.results.add({"part": part, "status": "skipped", "why": why})
        say(f"{part}: skipped: {why}")

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

    def _plan_throughput(self, cuda: bool, assignments: list[str]) -> None:
        device = "cuda" if cuda else ("cpu" if self.args.throughput_on_cpu else None)
        packages = self.machine.get("packages") or {}
        if not device:
            self._skip("throughput", "no GPU; --throughput-on-cpu runs it on the CPU (--throughput-copies N, "
                                     "--throughput-workers W)")
        elif not (packages.get("nbgrader") and packages.get("nbclient") and packages.get("ipykernel")):
            self._skip("throughput", self._no_jupyter())
        elif not (packages.get("dask") and packages.get("distributed")):
            self._skip("throughput", "dask and distributed (nnkit batch) are not installed here: "
                                     "`make wheelhouse-full` carries them")
        else:
            self.throughput_plan = {"assignment": assignments[0], "copies": self.args.throughput_copies,
                                    "workers": self.args.throughput_workers or self.cpus, "device": device}

    def _start_throughput(self, scratch: str) -> None:
        plan = self.throughput_plan
        calibrating = any(w.part == "calibrate" for w in self.workers)
        left = self.deadline - (REPORT_RESERVE if calibrating else SUMMARY_RESERVE) - time.monotonic()
        if left < THROUGHPUT_MIN_SECONDS:
            plan["not_started"] = (f"{max(left, 0):.0f} s of the deadline were left after the other parts, under "
                                   f"the {THROUGHPUT_MIN_SECONDS} s it is given at least (a longer --deadline, or "
                                   f"--only machine,throughput)")
            self.results.add({"part": "throughput", "status": NOT_REACHED, "why": plan["not_started"]})
            say(f"throughput: {NOT_REACHED}: {plan['not_started']}")
            return
        say(f"throughput: nnkit batch over {plan['copies']} copies of {plan['assignment']}'s reference hand-in, "
            f"{plan['workers']} workers, graders on {plan['device']} ({left:.0f} s left)")
        self.workers.append(Worker("throughput", "throughput",
                                   ["throughput", "--course", str(self.root), "--assignment", plan["assignment"],
                                    "--device", plan["device"], "--workers", str(plan["workers"]),
                                    "--copies", str(plan["copies"]), "--report-dir", scratch],
                                   self.out, self._on_throughput, self.env))

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
                say(f"deadline: stopping {', '.join(running)} after {time.monotonic() - self.start:.0f} s")
                for worker in self.workers:
                    if not worker.done():
                        worker.stopped = True
                kill_tree(self.workers)
                break
            reap_orphans(known)
            time.sleep(1)
        for worker in self.workers:
            if hasattr(worker, "code"):        # finished in an earlier wait
                continue
            code = worker.finish()
            worker.code = code
            if code != 0 and not getattr(worker, "stopped", False):
                self.results.add({"part": worker.part, "worker": worker.name, "status": "error",
                                  "why": f"the worker exited with status {code}", "log_tail": worker.log_tail()})
                say(f"{worker.part}: the worker {worker.name} exited with status {code}; its log: {worker.log_path}")
        kill_tree([])          # anything its workers left behind
        reap_orphans(set())

    # -- what the workers report -------------------------------------------------------------
    def _on_reference(self, record: dict) -> None:
        record = self.results.add({"part": "reference", **record})
        if record.get("error"):
            say(f"reference {record['assignment']} on {record['device']}: ERROR {record['error']}")
        else:
            say(f"reference {record['assignment']} on {record['device']}: {record['score']:g}/{record['max_score']:g}, "
                 f"{record['status']} in {record['seconds']:.0f} s (graders on {record['ran_on']})")

    def _on_hog(self, record: dict) -> None:
        record = self.results.add({"part": "hog", **record})
        say(f"hog: {record.get('status')}: {record.get('what', '')}")

    def _on_bank(self, record: dict) -> None:
        if record.get("kind") == "plan":
            self.bank_plan = record["variants"]
            self.results.add({"part": "bank", **record})
            say(f"bank: {len(self.bank_plan)} variants on {self.bank_device}")
        elif record.get("kind") == "report":
            self.bank_report = record
            self.results.add({"part": "bank", **record})
        else:
            record = self.results.add({"part": "bank", "status": "pass" if record.get("as_expected") else "fail", **record})
            if record["status"] == "fail":
                say(f"bank: BAD {record['variant']}: " + (", ".join(record.get("failed_cells") or []) or "passes every grader"))

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
                say(f"calibrate {assignment}: {claim['claim']}: {seeds_holding(claim, values.values())}/{self.args.seeds} seeds")
        return handle

    def _on_autograde(self, record: dict) -> None:
        record = self.results.add({"part": "autograde", **record})
        say(f"autograde {record.get('assignment')}: {record.get('status')}: {record.get('detail', '')}")

    def _on_throughput(self, record: dict) -> None:
        record = self.results.add({"part": "throughput", **record})
        say(f"throughput: {describe_record(record)}")

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

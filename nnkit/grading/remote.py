"""The checker's side of the probe: the student's code in another process, and the channel to it.

The checker (the pytest process that runs `grader_tests/`) never imports the student's module.
`Probe` starts `nnkit.grading.probe` sandboxed (or forks it from a zygote) and talks to it through
`nnkit.grading.wire`; the answers come back as plain data, or as `nnkit.grading.proxy.RemoteRef`s
on objects that stay in the probe (`submission.train(...)`, `layer.running_mean`).

Each request waits until the running test's deadline at most. A probe that hangs past it is
killed (`ProbeTimedOut`), one that dies is noted (`ProbeCrashed`), and the next request starts a
fresh probe, without a cell whose loading killed it or hung (`Probe._await_ready`).
"""
from __future__ import annotations

import fcntl
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from nnkit.grading.failure import (GraderFailure, ProbeCrashed, ProbeRefused, ProbeTimedOut, StudentAttributeError,
                                   StudentRaised, StudentTypeError)
from nnkit.grading.probe import PROBE_ENV
from nnkit.grading.proxy import RemoteRef
from nnkit.processes import kill_group

# torch and the wire (which needs torch) load on first use, not here: the checker launches
# the probe before it imports torch itself, so that the two processes load it at the same time.

PROBE_START_SECONDS = 120    # python + torch import + the student's module, beyond the test's own budget
CELL_LOAD_SECONDS = 60       # one cell of the student's module while it loads (the references': well under 1 s)
HUNG = "it ran past its time limit"   # how a cell left out for hanging is recorded (ProbeEvents.left_out)
MAX_PROBE_STARTS = 50        # per grading session
PIPE_BYTES = 1 << 20
WARM_UP_ENV = "NNKIT_WARM_UP"   # on | off: force the start-up imports (tests); unset: decided per submission


def _how_it_died(returncode) -> str:
    """Exit code or signal; bubblewrap passes a signal on as 128 + its number."""
    if returncode is None:
        return "no exit status"
    number = -returncode if returncode < 0 else returncode - 128 if returncode > 128 else None
    try:
        return f"signal {signal.Signals(number).name}" if number else f"exit code {returncode}"
    except ValueError:
        return f"exit code {returncode}"


def warm_up_modules(module_source: str, partial: bool = False) -> tuple[str, ...]:
    """What the probe and the checker import while they start, side by side, because both would
    import it later, one after the other: torch's first optimizer imports torch._dynamo (about
    1.4 s). A submission that never builds an optimizer (ps3) does not pay for it, nor does a
    `partial` run (only some cells' tests, as the mutant bank runs a wrong variant): it may never
    build one, and there the warm-up would cost a second of CPU for nothing.

    Speed only, never a verdict: importing torch._dynamo wraps some torch functions, so graders
    send torch functions to the probe by name (`wire.function_by_name`). ``NNKIT_WARM_UP=on|off``
    forces it, and the kit's tests grade with both and compare (`tests/test_device_rule.py`)."""
    forced = os.environ.get(WARM_UP_ENV, "").lower()
    if forced in ("on", "off"):
        return ("torch._dynamo",) if forced == "on" else ()
    return ("torch._dynamo",) if "optim" in module_source and not partial else ()


@dataclass
class ProbeEvents:
    """What happened to the probes of one grading session (for the status and the notes)."""
    crashes: int = 0
    timeouts: int = 0
    left_out: dict = field(default_factory=dict)   # submission cell -> how loading it killed the probe
    load_errors: list = field(default_factory=list)


class Probe:
    """One sandboxed probe process at a time, restarted after it dies or hangs."""

    def __init__(self, module_source: str, workdir: Path, *, threads: int = 1,
                 wrap=None, default_budget: float = 300.0, partial: bool = False, zygote: str = "",
                 cell_load_seconds: float = CELL_LOAD_SECONDS):
        self.module_source = module_source
        self.zygote = zygote                  # a probe zygote's socket: fork probes from it (probe_zygote)
        self.warm_up = warm_up_modules(module_source, partial)
        self.workdir = Path(workdir)
        self.emulated_cuda = False            # the checker emulates CUDA: requests name the CPU instead
        self.threads = threads
        self.wrap = wrap                      # argv -> sandboxed argv (see nnkit.sandbox.sandbox_argv)
        self.default_budget = default_budget
        self.cell_load_seconds = cell_load_seconds
        self.deadline: float | None = None    # set per test by the pytest plugin
        self.events = ProbeEvents()
        self.process: subprocess.Popen | None = None
        self.ready = False
        self._functions: dict = {}            # (generation, fn) -> its RemoteRef in that probe
        self.generation = 0                   # refs from an earlier probe are void
        self._starts = 0
        self.loading: str | None = None

    # ------------------------------------------------------------ life cycle
    def _deadline(self) -> float:
        return self.deadline if self.deadline is not None else time.monotonic() + self.default_budget

    def launch(self) -> None:
        """Start a probe process without waiting for it (python and torch take seconds to load:
        the checker starts one early and collects its tests meanwhile)."""
        if self._starts >= MAX_PROBE_STARTS:
            raise ProbeCrashed(f"your code was restarted {MAX_PROBE_STARTS} times; grading stopped here.")
        self._starts += 1
        self.generation += 1
        if self.zygote:
            from nnkit.grading.probe_zygote import ZygoteChild, probe_folder

            folder = probe_folder(self.zygote, f"probe-{self.generation}-")
        else:
            folder = self.workdir / f"probe-{self.generation}"
            folder.mkdir(parents=True)
        (folder / "submission.py").write_text(self.module_source)
        (folder / "probe.json").write_text(json.dumps({"threads": self.threads, "left_out": self.events.left_out,
                                                       "warm_up": list(self.warm_up)}))
        self.log = folder / "probe.log"
        with open(self.log, "ab") as log:
            if self.zygote:
                self.process = ZygoteChild(self.zygote, folder, log)
            else:
                argv = [sys.executable, "-m", "nnkit.grading.probe", str(folder)]
                if self.wrap:
                    argv = self.wrap(argv, folder)
                self.process = subprocess.Popen(argv, cwd=folder, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                stderr=log, env=dict(os.environ, **PROBE_ENV),
                                                start_new_session=True, bufsize=0)
        for pipe in (self.process.stdin, self.process.stdout):
            try:   # 1 MiB pipes: a tensor of a few MB crosses in a few wake-ups, not one per 64 KiB
                fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            except OSError:
                pass   # above /proc/sys/fs/pipe-max-size: the default size works too, more slowly
        self.ready = False

    def start(self) -> None:
        """Start a probe and wait until it has loaded the student's module."""
        self.launch()
        self._await_ready()

    def _await_ready(self) -> None:
        """Wait until the probe has loaded the student's module. Each cell gets `cell_load_seconds`
        (the probe says "loading" before each): a cell that runs past it (an endless loop at the top
        level of a cell) is left out and the probe starts again without it, so it costs the names
        that cell defines and about a minute, never the whole hand-in."""
        deadline = max(self._deadline(), time.monotonic()) + PROBE_START_SECONDS
        cell_deadline = None
        while True:
            try:
                event = self._receive(min(deadline, cell_deadline) if cell_deadline else deadline)
            except ProbeTimedOut:
                self.events.timeouts += 1
                if self.loading and self.loading not in self.events.left_out:
                    self.events.left_out[self.loading] = HUNG
                    if cell_deadline is not None and cell_deadline < deadline:
                        return self.start()   # again, without the cell that hung
                raise ProbeTimedOut("Timed out: your code took too long while the graders loaded it "
                                    f"({self.loading or 'starting up'}).") from None
            except ProbeCrashed as crash:
                if self.loading and self.loading not in self.events.left_out:
                    self.events.left_out[self.loading] = crash.how
                    return self.start()   # again, without the cell that killed it
                raise
            if type(event) is dict and type(event.get("loading")) is str:
                self.loading = event["loading"][:200]
                cell_deadline = time.monotonic() + self.cell_load_seconds
            elif type(event) is dict and "ready" in event:
                self.loading = None
                self.ready = True
                errors = event["ready"] if type(event["ready"]) is list else []
                self.events.load_errors = [e for e in errors if type(e) is list and len(e) == 2][:20]
                return
            else:
                raise ProbeCrashed("the grading process sent something unexpected while loading your code.")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if hasattr(process, "kill_group"):           # forked by a zygote, in its pid namespace
            process.kill_group()
        else:
            kill_group(process.pid)                   # student code may have forked: the whole group
        for pipe in (process.stdin, process.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        process.wait()

    # ------------------------------------------------------------ the channel
    def _receive(self, deadline: float):
        """Next frame from the probe, as plain data, before `deadline`."""
        from nnkit.grading import wire

        fd = self.process.stdout.fileno()
        header = self._read(fd, wire.HEADER.size, deadline)
        size = wire.HEADER.unpack(header)[0]
        if size > wire.MAX_FRAME_BYTES:
            self.stop()
            raise ProbeRefused(f"your code sent back {size / 2**20:.0f} MiB in one answer; "
                               f"the limit is {wire.MAX_FRAME_BYTES / 2**20:.0f} MiB.")
        try:
            return wire.loads_plain(self._read(fd, size, deadline))
        except wire.WireRefused as refused:
            self.stop()   # a probe that broke the protocol is not asked again: the next check gets a fresh one
            raise ProbeRefused(f"The graders refused your code's answer: {refused}.") from None

    def _read(self, fd: int, size: int, deadline: float) -> bytes:
        chunks, left = [], size
        while left:
            wait = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(0.0, wait))[0] if wait > 0 else []
            if not ready:
                self.stop()
                raise ProbeTimedOut("Timed out: your code took too long (an endless loop, or far too slow).")
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                process = self.process
                self.stop()
                how = _how_it_died(process.returncode if process else None)
                crash = ProbeCrashed(f"The grading process crashed during this check ({how}): your code killed "
                                     "the Python process (a segfault, os._exit, or running out of memory?).")
                crash.how = how
                raise crash
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def request(self, *message):
        """Send one request and return the decoded answer (see `nnkit.grading.probe`)."""
        from nnkit.grading import wire

        if self.process is None:
            self.start()
        elif not self.ready:
            self._await_ready()
        if self.emulated_cuda:   # the student's code runs on the CPU under the emulation (nnkit.grading.devices)
            from nnkit.grading.device_emulation import cuda_devices_to_cpu

            message = cuda_devices_to_cpu(message)
        # A fresh random number per request: frames the student's code wrote ahead of time never match.
        number = secrets.randbits(63)
        try:
            wire.write_frame(self.process.stdin.fileno(), wire.dumps_request(number, message))
        except (BrokenPipeError, OSError):
            pass   # it died: reading says how
        deadline = self._deadline()
        try:
            while True:
                reply = self._receive(deadline)
                if type(reply) is dict and reply.get("id") == number:
                    break      # anything else was written to the channel by the student's code: ignored
        except ProbeTimedOut:
            self.events.timeouts += 1
            raise
        except ProbeCrashed:
            self.events.crashes += 1
            raise
        return self._answer(reply)

    def _answer(self, reply: dict):
        from nnkit.grading import wire

        if "unreadable" in reply:
            raise RuntimeError(f"the probe could not read a grader's request: {str(reply['unreadable'])[:300]}")
        if "raised" in reply:
            text = str(reply["raised"])[:1000]
            kind = {"AttributeError": StudentAttributeError, "TypeError": StudentTypeError}.get(reply.get("type"),
                                                                                               StudentRaised)
            raise kind(f"Your code raised {text}")
        if "missing" in reply:
            raise GraderFailure(str(reply["missing"])[:1000])
        generation = self.generation
        try:
            value = wire.decode(reply.get("value"), lambda r: RemoteRef(self, generation, r))   # on the CPU
            changes = wire.decode(reply.get("writeback", []), lambda r: None)
        except wire.WireRefused as refused:
            self.stop()
            raise ProbeRefused(f"The graders refused your code's answer: {refused}.") from None
        return value, changes, reply

    # ------------------------------------------------------------ conveniences
    @property
    def module(self) -> "RemoteRef":
        return RemoteRef(self, None, {"id": 0, "type": "module", "module": False, "callable": False})

    def keep(self, obj) -> "RemoteRef":
        """Send a checker object (a data loader, a data set) once; later calls pass the ref."""
        return self.request("keep", obj)[0]

    def function(self, fn) -> "RemoteRef":
        """`fn` (an importable function of torch, NumPy, the standard library or the kit) as a
        function of the probe: `probe.function(torch.manual_seed)(0)` seeds the probe's torch.
        Sent once per probe process; ask again after a restart (an old ref is void)."""
        if self.process is None:
            self.start()
        elif not self.ready:
            self._await_ready()
        key = (self.generation, fn)
        if key not in self._functions:
            self._functions[key] = self.keep(fn)
        return self._functions[key]

    def modules_of_type(self, model: "RemoteRef", cls) -> list:
        """The layers of a student's model whose type is exactly `cls` (e.g. `torch.nn.Linear`),
        in `modules()` order, as RemoteRefs; one request."""
        from nnkit.grading.probe import modules_of_exact_type

        return self.function(modules_of_exact_type)(model, cls)

    def attributes(self, ref: "RemoteRef", *paths: str, default=None) -> list:
        """`[ref.<path> for path in paths]` (dotted: "weight.grad", "running_var.requires_grad"),
        `default` for a missing one; one request."""
        from nnkit.grading.probe import attributes

        return self.function(attributes)(ref, list(paths), default)

    def call_at(self, ref: "RemoteRef", path: str, *args, **kwargs):
        """`ref.<path>(*args, **kwargs)` in the probe, e.g. `probe.call_at(layer, "weight.data.copy_", w)`
        writes into the layer's own tensor; one request."""
        from nnkit.grading.probe import call_at

        return self.function(call_at)(ref, path, *args, **kwargs)

    def seed(self, seed: int) -> None:
        """Seed the probe's Python, NumPy, torch and CUDA generators, as
        `nnkit.grading.seeding.seed_everything(seed)` seeds the checker's."""
        from nnkit.grading.seeding import seed_everything

        self.function(seed_everything)(seed)

    def close(self) -> None:
        self.stop()

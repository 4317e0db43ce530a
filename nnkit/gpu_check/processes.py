"""The workers of `make gpu-check` and the deadline: each worker a `python -m nnkit.gpu_check --worker`
in a session of its own; at the deadline every process below the check is found (/proc) and killed."""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


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

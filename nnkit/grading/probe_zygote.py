"""Probes forked from a warm sandboxed process, for the instructor's own variant bank.

A probe (`nnkit.grading.probe`) spends about 2 s of CPU starting: a sandboxed Python that
imports torch. A wrong variant of the mutant bank is graded in quick mode (only the tests of the
cells it declares it fails, up to the first failure), and there that start is most of its cost:
``make test`` and ``nnkit mutants`` start about two hundred probes. Here one sandboxed process,
the zygote, imports what every probe imports and forks each probe from itself:

    ProbeZygote (runner side)              zygote (sandboxed, python -m nnkit.grading.probe_zygote SPOOL)
      socket SPOOL/zygote.sock  ------->   accept; receive the probe's stdin, stdout and log
      (one connection per probe)           fork: the child becomes `probe.main(folder)`
      ZygoteChild: stdin/stdout pipes,     "pid N"     when it is forked
      wait(), returncode, kill_group()     "exit CODE" when it ends (Popen's returncode)
                                           "kill" (or the connection closing): SIGKILL its group

* Every probe is a fork of the same zygote, never of an earlier probe: the zygote imports torch but
  runs none of it (no thread pool, and no question to CUDA, which would poison every fork:
  `nnkit.grading.devices`), and never runs a variant's code, so nothing of one
  variant reaches the next.
* The zygote is sandboxed once, as every probe is (`nnkit.sandbox.sandbox_argv`: the course folder
  hidden, no network, resource limits inherited by each child); its one writable folder is SPOOL,
  and each probe works in a folder of its own inside it.
* Only for code the instructor wrote (`nnkit.variants`): the probes of one zygote share its sandbox,
  so one could read another's folder or signal the zygote. Students' hand-ins (nbgrader
  autograde, one notebook per process) keep one freshly started sandbox per probe.
"""
from __future__ import annotations

import array
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from nnkit.grading.failure import ProbeCrashed
from nnkit.grading.probe import PROBE_ENV
from nnkit.processes import kill_group

SOCKET_NAME = "zygote.sock"
PR_SET_PDEATHSIG = 1
START_SECONDS = 120      # python + torch in the sandbox, on a busy machine
# What `probe.main` imports before the student's module (imported once, here).
PRELOAD = ["torch", "nnkit.grading.probe", "nnkit.grading.probe_server", "nnkit.grading.probe_watch",
           "nnkit.grading.student_module", "nnkit.grading.wire", "nnkit.grading.precision",
           "nnkit.gc_policy", "nnkit.threads"]


# ------------------------------------------------------------------------------------- runner side
class ProbeZygote:
    """Start a sandboxed zygote for a course's probes; a `remote.Probe` given its `socket_path`
    forks from it (`ZygoteChild`), in a folder of its own under the spool (`probe_folder`)."""

    def __init__(self, course_root: Path, gpu: bool = False):
        self.spool = Path(tempfile.mkdtemp(prefix="nnkit-zygote-"))
        self.socket_path = self.spool / SOCKET_NAME
        from nnkit.sandbox import Limits, sandbox_argv

        # `gpu`: its probes grade on CUDA, each capped as it starts (nnkit.sandbox.gpu_cap, in probe.main).
        argv = sandbox_argv([sys.executable, "-m", "nnkit.grading.probe_zygote", str(self.spool)],
                            writable=[self.spool], hidden=[Path(course_root)], limits=Limits(gpu=gpu))
        self.log = self.spool / "zygote.log"
        with open(self.log, "ab") as log:
            # stdin: a pipe only we hold; the zygote ends, with its probes, when it closes.
            self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                            env=dict(os.environ, **PROBE_ENV), start_new_session=True, bufsize=0)
        ready = select.select([self.process.stdout], [], [], START_SECONDS)[0]
        line = self.process.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            said = self.log.read_text(errors="replace")[-2000:]   # before close() removes the spool
            self.close()
            raise RuntimeError(f"the probe zygote did not start within {START_SECONDS} s; it said:\n{said}")

    def close(self) -> None:
        """End the zygote and every probe it forked, and remove its spool."""
        if self.process.returncode is not None:
            return
        self.process.stdin.close()        # the zygote kills its probes and returns ...
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        kill_group(self.process.pid)      # ... or is killed, sandbox and all (its probes die with it)
        self.process.wait()
        self.process.stdout.close()
        shutil.rmtree(self.spool, ignore_errors=True)

    def __enter__(self) -> "ProbeZygote":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def probe_folder(socket_path: str | Path, prefix: str) -> Path:
    """A fresh folder for one probe: inside the zygote's spool, the one folder its sandbox shows."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=Path(socket_path).parent))


class ZygoteChild:
    """One probe forked by a zygote, with the part of `subprocess.Popen` that `remote.Probe` uses."""

    def __init__(self, socket_path: str | Path, folder: Path, log) -> None:
        to_probe_r, to_probe_w = os.pipe()
        from_probe_r, from_probe_w = os.pipe()
        self.connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.returncode: int | None = None
        try:
            self.connection.connect(str(socket_path))
            request = json.dumps({"folder": str(folder)}).encode()
            fds = array.array("i", [to_probe_r, from_probe_w, log.fileno()])
            self.connection.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
            self._lines = self.connection.makefile("rb")
            self.pid = self._expect(b"pid")       # the probe's pid in the zygote's namespace
        except OSError as problem:
            for fd in (to_probe_w, from_probe_r):
                os.close(fd)
            self.connection.close()
            raise ProbeCrashed(f"The probe zygote at {socket_path} did not fork a probe ({problem}); its log, "
                               f"zygote.log, is beside that socket.") from None
        finally:
            os.close(to_probe_r)
            os.close(from_probe_w)
        self.stdin = os.fdopen(to_probe_w, "wb", buffering=0)
        self.stdout = os.fdopen(from_probe_r, "rb", buffering=0)

    def _expect(self, word: bytes) -> int:
        while True:
            line = self._lines.readline()
            if not line:
                raise OSError("the probe zygote closed the connection")
            key, _, value = line.strip().partition(b" ")
            if key == b"exit":
                self.returncode = int(value)
            if key == word:
                return int(value)

    def kill_group(self) -> None:
        try:
            self.connection.sendall(b"kill\n")
        except OSError:
            pass   # the zygote is gone, and its children with it

    def wait(self) -> int:
        if self.returncode is None:
            try:
                self._expect(b"exit")
            except OSError:
                self.returncode = -signal.SIGKILL
            finally:
                self._lines.close()
                self.connection.close()
        return self.returncode


# ------------------------------------------------------------------------------------- zygote side
def _returncode(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _become_probe(inherited: list, fds: list[int], folder: str) -> None:
    """In the forked child: close the zygote's sockets and pipes (`inherited`), take the probe's
    pipes as stdin, stdout and stderr, and run it."""
    try:
        os.setsid()                        # its own group: a kill reaches whatever it forks
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)   # dies with the zygote
        for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        for item in inherited:
            item.close() if hasattr(item, "close") else os.close(item)
        for target, fd in enumerate(fds):  # 0: requests, 1: answers, 2: log
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        os.chdir(folder)
        from nnkit.grading.devices import refuse_poisoned_fork

        refuse_poisoned_fork("this probe")  # the zygote asks CUDA nothing (nnkit.grading.devices)
        from nnkit.grading import probe

        probe.main(folder)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    sys.stderr.flush()
    os._exit(code)


def serve(spool: Path) -> None:
    from nnkit.gc_policy import freeze_loaded, pause_collection

    pause_collection()
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    freeze_loaded()

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(spool / SOCKET_NAME))
    listener.listen(16)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)   # only to wake the loop up
    children: dict[int, socket.socket] = {}          # pid -> its connection
    by_connection: dict[socket.socket, int] = {}
    os.write(1, b"ready\n")

    while True:
        readable = select.select([listener, wake_r, 0, *by_connection], [], [], 5.0)[0]
        if 0 in readable and not os.read(0, 1):      # the runner is gone: so are we, with every probe
            for pid in children:
                kill_group(pid)
            return
        if wake_r in readable:
            os.read(wake_r, 4096)
        while children:                               # reap, and say how each probe ended
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            connection = children.pop(pid, None)
            if connection is not None:
                by_connection.pop(connection, None)
                try:
                    connection.sendall(f"exit {_returncode(status)}\n".encode())
                except OSError:
                    pass
                connection.close()
        for connection in [c for c in readable if c in by_connection]:
            try:
                data = connection.recv(64)
            except OSError:
                data = b""
            if not data or b"kill" in data:
                kill_group(by_connection[connection])
        if listener in readable:
            connection, _ = listener.accept()
            try:
                fds, folder = _receive_request(connection)
            except (OSError, ValueError) as problem:
                print(f"probe zygote: a request could not be read: {problem}", file=sys.stderr)
                connection.close()
                continue
            pid = os.fork()
            if pid == 0:
                _become_probe([connection, listener, wake_r, wake_w, *by_connection], fds, folder)
            for fd in fds:
                os.close(fd)
            children[pid], by_connection[connection] = connection, pid
            connection.sendall(f"pid {pid}\n".encode())


def _receive_request(connection: socket.socket) -> tuple[list[int], str]:
    fds = array.array("i")
    data, ancillary, _, _ = connection.recvmsg(4096, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError(f"expected 3 file descriptors, got {len(fds)}")
    return list(fds), json.loads(data.decode())["folder"]


if __name__ == "__main__":
    serve(Path(sys.argv[1]))

"""No CUDA before a fork (`nnkit.grading.devices`), checked on the CPU.

torch marks a process "poisoned for fork" at its first CUDA query, `torch.cuda.is_available()`
included, even on a machine with no GPU; every process it forks afterwards is then in a "bad
fork" and raises "Cannot re-initialize CUDA in forked subprocess" at its first CUDA call. On a
GPU runner that gave every hidden check of every student zero (`checks.py` asked at import, and
the checkers' forkserver imports it). `torch.cuda._is_in_bad_fork()` shows the poison on this
CPU machine, so these tests look at it in the real forked children.
"""
import os
import subprocess
import sys

import pytest
import torch

from conftest import ROOT
from nnkit.grading.remote import Probe
from nnkit.sandbox import bwrap_available

pytestmark = pytest.mark.check

CUDA_BUILD = torch.version.cuda is not None


@pytest.mark.skipif(not CUDA_BUILD, reason="a CPU-only torch never poisons a fork")
def test_the_poison_shows_on_the_cpu_and_a_poisoned_child_refuses_to_run():
    """The premise of the other tests, and the children's own guard (`refuse_poisoned_fork`)."""
    script = (
        "import os, sys, torch\n"
        "from nnkit.grading.devices import PoisonedFork, refuse_poisoned_fork\n"
        "def child():\n"
        "    try:\n"
        "        refuse_poisoned_fork('the child')\n"
        "        os._exit(0)\n"
        "    except PoisonedFork:\n"
        "        os._exit(7)\n"
        "for ask in (False, True):\n"
        "    if ask: torch.cuda.is_available()\n"
        "    pid = os.fork()\n"
        "    if pid == 0: child()\n"
        "    print(ask, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.stdout.split("\n")[:2] == ["False 0", "True 7"], out.stdout + out.stderr


BAD_FORK_REPORTER = """
import os
import torch

def test_where_this_checker_was_forked():
    with open(os.environ["NNKIT_TEST_REPORT"], "w") as out:
        out.write(str(torch.cuda._is_in_bad_fork()))
"""


@pytest.mark.skipif(not CUDA_BUILD, reason="a CPU-only torch never poisons a fork")
def test_checkers_forked_from_the_forkserver_can_start_cuda(tmp_path):
    """The real forkserver of `nbgrader autograde` and the mutant bank (`forked_checker.PRELOAD`).
    Before the fix, `nnkit.grading.checks` asked CUDA at import, in the server: every checker was
    in a bad fork (this test then read "True", and a GPU runner gave correct work zeros)."""
    from nnkit.grading.forked_checker import ForkedChecker

    (tmp_path / "test_fork.py").write_text(BAD_FORK_REPORTER)
    answer = tmp_path / "answer.txt"
    argv = [sys.executable, "-m", "pytest", str(tmp_path / "test_fork.py"), "-q", "-p", "no:cacheprovider",
            "--grader-report-fd", "{report_fd}"]
    env = dict(os.environ, NNKIT_TEST_REPORT=str(answer), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    argv[-2:] = []   # a bare pytest run: no grading session, so no report pipe option
    checker = ForkedChecker(argv, tmp_path, env, tmp_path / "checker.log")
    os.close(checker.report_fd)
    code = checker.wait(timeout=180)
    log = (tmp_path / "checker.log").read_text()
    assert code == 0, log
    assert answer.read_text() == "False", "the forkserver asked CUDA before forking this checker"


@pytest.mark.skipif(not bwrap_available(), reason="bubblewrap not usable here (the zygote is sandboxed)")
@pytest.mark.skipif(not CUDA_BUILD, reason="a CPU-only torch never poisons a fork")
def test_probes_forked_from_the_zygote_can_start_cuda(tmp_path):
    """The mutant bank's probe zygote (`probe_zygote.PRELOAD`): its probes are not in a bad fork."""
    from nnkit.grading.probe_zygote import ProbeZygote

    with ProbeZygote(ROOT) as zygote:
        probe = Probe("import torch\n", tmp_path, default_budget=60, zygote=str(zygote.socket_path))
        try:
            assert probe.function(torch.cuda._is_in_bad_fork)() is False
        finally:
            probe.close()


def test_importing_the_grading_modules_asks_cuda_nothing():
    """Everything a forking parent imports (the forkserver's and the zygote's preload lists, and the
    batch's and the bank's drivers), imported in a fresh process with torch.cuda's questions
    replaced by tripwires: none may be asked at import."""
    from nnkit.grading import forked_checker, probe_zygote

    modules = sorted(set(forked_checker.PRELOAD + probe_zygote.PRELOAD) - {"torch"}
                     | {"nnkit.batch", "nnkit.variants", "nnkit.grading.runner", "nnkit.grading.preprocessor",
                        "nnkit.grading.devices", "nnkit.grading.device_emulation", "nnkit.sandbox.gpu_cap"})
    script = (
        "import importlib, sys, torch, torch.cuda\n"
        "asked = []\n"
        "for name in ('is_available', 'device_count', 'init', '_lazy_init', 'current_device', 'get_device_name'):\n"
        "    setattr(torch.cuda, name, lambda *a, _n=name, **k: asked.append(_n))\n"
        "torch._C._cuda_getDeviceCount = lambda *a: asked.append('_cuda_getDeviceCount') or 0\n"
        f"for module in {modules!r}:\n"
        "    importlib.import_module(module)\n"
        "print(asked)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", f"asked CUDA at import: {out.stdout}"

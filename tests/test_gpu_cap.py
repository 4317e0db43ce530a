"""One student's GPU use costs only that student (`nnkit.sandbox.gpu_cap`): wired into every
sandboxed process, checked on the CPU. (On a GPU, `make gpu-check` runs a memory hog among
honest probes.)"""
from pathlib import Path

import pytest

from conftest import COURSE, ROOT
from nnkit import sandbox
from nnkit.grading.job import GradingJob
from nnkit.grading.remote import Probe
from nnkit.sandbox import Limits, bwrap_available, gpu_cap

pytestmark = pytest.mark.check
needs_bwrap = pytest.mark.skipif(not bwrap_available(), reason="bubblewrap not usable here")

FAKE_GPU = ["/dev/nvidia0", "/dev/nvidiactl"]


def _setenv(argv: list[str]) -> dict:
    return {argv[i + 1]: argv[i + 2] for i, a in enumerate(argv) if a == "--setenv"}


@needs_bwrap
def test_only_a_process_allowed_a_gpu_gets_its_device_nodes_and_its_cap(monkeypatch):
    monkeypatch.setattr(sandbox, "_gpu_devices", lambda: FAKE_GPU)
    without = sandbox.sandbox_argv(["true"], limits=Limits())
    assert not any(d in without for d in FAKE_GPU)
    assert _setenv(without).get("CUDA_VISIBLE_DEVICES") == "" and gpu_cap.CAP_ENV not in _setenv(without)
    monkeypatch.setenv(gpu_cap.CAP_ENV, "999999999999")   # the caller's own value never leaks in instead
    allowed = sandbox.sandbox_argv(["true"], limits=Limits(gpu=True, gpu_memory_bytes=3 << 30))
    assert all(allowed[allowed.index(d) - 1] == "--dev-bind" for d in FAKE_GPU)
    env = _setenv(allowed)
    assert env[gpu_cap.CAP_ENV] == str(3 << 30), "bwrap applies --setenv in order: the limit's value is last"
    assert env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=3072M"


@needs_bwrap
@pytest.mark.parametrize("device, gpu", [("cuda", True), ("auto", True), ("cpu", False), ("emulated-cuda", False)])
def test_the_checkers_probe_sees_a_gpu_only_when_grading_on_cuda(device, gpu, monkeypatch, tmp_path):
    from nnkit.grading.pytest_plugin import GraderSession

    monkeypatch.setattr(sandbox, "_gpu_devices", lambda: FAKE_GPU)
    source = COURSE.source_notebook("ps3_normalization")
    session = GraderSession(None, GradingJob(ROOT, "ps3_normalization", source, source, device=device))
    probe = session.start_probe(tmp_path)
    argv = probe.wrap(["python", "-m", "nnkit.grading.probe", str(tmp_path)], tmp_path)
    assert ("/dev/nvidia0" in argv) is gpu
    assert (gpu_cap.CAP_ENV in _setenv(argv)) is gpu


def test_the_notebook_kernel_never_sees_a_gpu():
    """The kernel's limits come from $NNKIT_SANDBOX_LIMITS over `Limits`' defaults: no GPU."""
    assert Limits().gpu is False
    text = (Path(sandbox.__file__).parent / "kernel.py").read_text()
    assert "limits = Limits(**json.loads(os.environ.get(\"NNKIT_SANDBOX_LIMITS\") or \"{}\"))" in text


CAP_SEEN = '''
import nnkit.sandbox.gpu_cap as _cap
SEEN_AT_LOAD = dict(_cap.APPLIED)     # read while the student's module loads


def seen():
    return SEEN_AT_LOAD
'''


def test_a_probe_applies_the_cap_before_the_students_code_loads(tmp_path, monkeypatch):
    monkeypatch.setenv(gpu_cap.CAP_ENV, str(2 << 30))
    probe = Probe(CAP_SEEN, tmp_path, default_budget=30)
    try:
        assert probe.module.seen() == {"cap": 2 << 30, "devices": 0}   # set, and no GPU here to cap
    finally:
        probe.close()


@needs_bwrap
def test_probes_forked_from_a_gpu_zygote_apply_the_cap(tmp_path):
    from nnkit.grading.probe_zygote import ProbeZygote

    with ProbeZygote(ROOT, gpu=True) as zygote:
        probe = Probe(CAP_SEEN, tmp_path, default_budget=30, zygote=str(zygote.socket_path))
        try:
            assert probe.module.seen()["cap"] == Limits().gpu_memory_bytes
        finally:
            probe.close()


@pytest.mark.parametrize("gpu, cap", [(False, None), (True, str(2 << 30))])
def test_without_bubblewrap_the_launcher_sets_the_same_environment(gpu, cap, monkeypatch):
    """Where bubblewrap is not usable the launcher alone applies the limits: it sets the GPU's
    environment too (no device isolation there: the README says so)."""
    import json
    import subprocess
    import sys

    import nnkit.sandbox.run as run

    monkeypatch.setenv(gpu_cap.CAP_ENV, "123")
    limits = json.loads(Limits(gpu=gpu, gpu_memory_bytes=2 << 30).to_json())
    shown = subprocess.run([sys.executable, "-I", run.__file__, "--limits-json", json.dumps(limits), "--",
                            sys.executable, "-c", f"import os; print(os.environ.get({gpu_cap.CAP_ENV!r}), "
                            "repr(os.environ.get('CUDA_VISIBLE_DEVICES')))"],
                           capture_output=True, text=True, timeout=60)
    assert shown.stdout.split() == [str(cap), "''" if not gpu else "None"], shown.stderr

"""Tests for nnkit.sandbox: isolation (bwrap), resource limits, sandboxed kernel.

Every bomb is bounded (small limits, finite loops, subprocess timeouts) so a
failing containment cannot hurt the machine.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from nnkit.sandbox import Limits, bwrap_available, install_kernelspec, sandbox_argv

needs_bwrap = pytest.mark.skipif(not bwrap_available(), reason="bubblewrap not usable here")
SMALL = Limits(memory_bytes=512 << 20, cpu_seconds=20, max_processes=64,
               file_size_bytes=1 << 20, open_files=256)


def run(code: str, *, limits: Limits = SMALL, writable=(), hidden=(), timeout=30, cwd=None):
    argv = sandbox_argv([sys.executable, "-c", code], writable=list(writable),
                        hidden=list(hidden), limits=limits)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A fake nbgrader course root with secrets and one student's work dir."""
    root = tmp_path / "course"
    (root / "grader_tests").mkdir(parents=True)
    (root / "grader_tests" / "secret.py").write_text("ANSWER = 42\n")
    (root / "gradebook.db").write_text("SECRET GRADES")
    (root / "nbgrader_config.py").write_text("")
    (root / "autograded" / "alice" / "hw1").mkdir(parents=True)
    (root / "submitted" / "bob" / "hw1").mkdir(parents=True)
    return root


@needs_bwrap
def test_write_only_inside_writable(tmp_path: Path):
    w, other = tmp_path / "w", tmp_path / "other"
    w.mkdir(), other.mkdir()
    r = run(f"open({str(w / 'ok')!r}, 'w').write('x')\n"
            f"open({str(other / 'bad')!r}, 'w').write('x')", writable=[w])
    assert (w / "ok").read_text() == "x"
    assert not (other / "bad").exists()
    assert "Read-only file system" in r.stderr or "No such file" in r.stderr, r.stderr


@needs_bwrap
def test_hidden_course_root(course: Path):
    work = course / "autograded" / "alice" / "hw1"
    code = (f"import os\nprint(sorted(os.listdir({str(course)!r})))\n"
            f"print(os.path.exists({str(course / 'gradebook.db')!r}))\n"
            f"open('mine.txt', 'w').write('hi')\n"
            f"open({str(course / 'grader_tests' / 'secret.py')!r}).read()")
    r = run(code, writable=[work], hidden=[course], cwd=work)
    lines = r.stdout.splitlines()
    assert lines[:2] == ["['autograded']", "False"], r.stdout + r.stderr
    assert "FileNotFoundError" in r.stderr
    assert (work / "mine.txt").read_text() == "hi"  # nested writable dir re-bound after the mask


@needs_bwrap
def test_private_tmp():
    marker = Path("/tmp") / f"nnkit-marker-{uuid.uuid4().hex}"
    marker.write_text("outside")
    try:
        r = run(f"import os; print(os.path.exists({str(marker)!r})); open('/tmp/in', 'w')")
        assert r.stdout.strip() == "False", r.stderr
        assert r.returncode == 0 and not Path("/tmp/in").exists()
    finally:
        marker.unlink()


@needs_bwrap
def test_no_network():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        r = run(f"import socket\ntry:\n socket.create_connection(('127.0.0.1', {port}), 3)\n"
                f" print('CONNECTED')\nexcept OSError as e: print('FAILED', e)")
    assert r.stdout.startswith("FAILED"), r.stdout + r.stderr


def test_memory_bomb_dies_parent_survives():
    r = run("x = []\nwhile True: x.append(bytearray(64 << 20))", timeout=30)
    assert r.returncode != 0
    assert "MemoryError" in r.stderr or r.returncode < 0 or r.returncode > 128


def test_torch_imports_under_default_limits_but_10gb_fails():
    r = run("import torch\nprint(torch.ones(3).sum().item())\n"
            "try:\n torch.empty(10 << 30, dtype=torch.uint8); print('ALLOCATED')\n"
            "except RuntimeError: print('REFUSED')", limits=Limits(), timeout=60)
    assert r.stdout.split() == ["3.0", "REFUSED"], r.stdout + r.stderr


def test_fork_bomb_contained():
    """A *bounded* bomb (200 sleepers) under max_processes=32 must hit the wall."""
    code = ("import os, time\nn = 0\ncg = [l for l in open('/proc/self/cgroup') if ':pids:' in l]\n"
            "print('cgroup', 'nnkit-' in ''.join(cg))\ntry:\n for _ in range(200):\n"
            "  if os.fork() == 0:\n   time.sleep(3); os._exit(0)\n  n += 1\n"
            "except OSError as e: print('fork failed', e)\nprint('forked', n)")
    r = run(code, limits=Limits(**{**SMALL.__dict__, "max_processes": 32}))
    out = r.stdout.split("\n")
    forked = int(out[-2].split()[-1])
    if forked == 200 and os.geteuid() == 0 and out[0] == "cgroup False":
        pytest.skip("root without a writable pids cgroup: RLIMIT_NPROC does not apply to uid 0")
    assert forked < 32, r.stdout + r.stderr


def test_file_size_limit(tmp_path: Path):
    f = tmp_path / "big"
    r = run(f"open({str(f)!r}, 'wb').write(b'x' * (16 << 20))", writable=[tmp_path])
    assert r.returncode != 0 and "File too large" in r.stderr, r.stderr
    assert f.stat().st_size <= 1 << 20


def test_cpu_time_limit():
    t = time.monotonic()
    r = run("while True: pass", limits=Limits(**{**SMALL.__dict__, "cpu_seconds": 1}), timeout=30)
    assert r.returncode != 0 and time.monotonic() - t < 20


def test_warning_without_bwrap():
    env = {**os.environ, "NNKIT_SANDBOX_NO_BWRAP": "1", "PYTHONPATH": str(Path(__file__).parents[1])}
    r = subprocess.run([sys.executable, "-c", "import nnkit.sandbox as s; print(s.bwrap_available())"],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.stdout.strip() == "False" and "bubblewrap" in r.stderr


def test_cli_form(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    r = subprocess.run([sys.executable, "-m", "nnkit.sandbox", "run", "--writable", str(tmp_path),
                        "--memory-mb", "256", "--", "sh", "-c", "ulimit -d; echo hi > f"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=30)
    assert r.stdout.strip() == str(256 * 1024) and (tmp_path / "f").exists(), r.stderr


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch) -> Path:
    prefix = tmp_path / "prefix"
    install_kernelspec(prefix=prefix)
    spec = json.loads((prefix / "share/jupyter/kernels/nnkit-sandbox/kernel.json").read_text())
    assert "{connection_file}" in spec["argv"] and spec["interrupt_mode"] == "message"
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    monkeypatch.delenv("NNKIT_COURSE_ROOT", raising=False)
    return prefix


CELL = ("import os\nprint(sorted(os.listdir('..')))\n"
        "print(os.path.exists('{course}/gradebook.db'))\nopen('written.txt', 'w').write('ok')")


@needs_bwrap
def test_sandboxed_kernel_nbgrader_execute(kernel_env, course: Path):
    """nbgrader's Execute preprocessor with the config lines we tell the lead to use."""
    import nbformat
    from nbgrader.preprocessors import Execute
    from traitlets.config import Config

    c = Config()
    c.Execute.kernel_name = "nnkit-sandbox"
    c.KernelManager.transport = "ipc"
    work = course / "autograded" / "alice" / "hw1"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL.format(course=course))])
    nb, _ = Execute(config=c).preprocess(nb, {"metadata": {"path": str(work)}})
    out = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert out.splitlines() == ["['hw1']", "False"], nb.cells[0].outputs  # siblings/secrets invisible
    assert (work / "written.txt").read_text() == "ok"


@needs_bwrap
def test_sandboxed_kernel_nbclient_and_overhead(kernel_env, course: Path):
    """Plain nbclient usage; also prints plain vs sandboxed kernel start-up time."""
    import nbclient
    import nbformat
    from traitlets.config import Config

    work = course / "autograded" / "alice" / "hw1"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1 + 1)")])
    times = {}
    for name, transport in [("python3", "tcp"), ("nnkit-sandbox", "ipc")]:
        cfg = Config({"KernelManager": {"transport": transport}})
        t = time.monotonic()
        res = nbclient.NotebookClient(nb, kernel_name=name, config=cfg, timeout=30,
                                      resources={"metadata": {"path": str(work)}}).execute()
        times[name] = time.monotonic() - t
        assert res.cells[0].outputs[0]["text"] == "2\n"
    print(f"\nkernel start+run: plain {times['python3']:.2f}s, sandboxed "
          f"{times['nnkit-sandbox']:.2f}s, ratio {times['nnkit-sandbox'] / times['python3']:.2f}")


@needs_bwrap
def test_sandboxed_kernel_starts_with_torch_frozen_and_the_students_folder_importable(kernel_env, course: Path):
    """nnkit.sandbox.warm_kernel: torch is loaded before the first cell and kept out of the collector's
    walks; the student's garbage is collected, and the notebook's folder is importable, as with
    ipykernel_launcher."""
    import nbclient
    import nbformat
    from traitlets.config import Config

    work = course / "autograded" / "alice" / "hw1"
    (work / "helper_of_alice.py").write_text("ANSWER = 42\n")
    cell = ("import sys, gc, weakref\n"
            "loaded_before = 'torch' in sys.modules\n"
            "import helper_of_alice\n"
            "class Node: pass\n"
            "node = Node(); node.itself = node; ref = weakref.ref(node); del node; gc.collect()\n"
            "print(loaded_before, gc.isenabled(), gc.get_freeze_count() > 50_000, ref() is None, helper_of_alice.ANSWER)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    res = nbclient.NotebookClient(nb, kernel_name="nnkit-sandbox", config=Config({"KernelManager": {"transport": "ipc"}}),
                                  timeout=60, resources={"metadata": {"path": str(work)}}).execute()
    assert res.cells[0].outputs[0]["text"] == "True True True True 42\n", res.cells[0].outputs


@needs_bwrap
def test_sandboxed_kernel_starts_when_torch_cannot_load_and_the_import_cell_says_why(kernel_env, course: Path, monkeypatch):
    """Under a memory limit too small for torch, warm_kernel's preload fails; the kernel starts as plain
    ipykernel all the same, and the student's own import cell reports the error (as before the preload)."""
    import nbclient
    import nbformat
    from traitlets.config import Config

    monkeypatch.setenv("NNKIT_SANDBOX_LIMITS", json.dumps({"memory_bytes": 400_000_000}))
    work = course / "autograded" / "alice" / "hw1"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1 + 1)"),
                                         nbformat.v4.new_code_cell("import torch")])
    res = nbclient.NotebookClient(nb, kernel_name="nnkit-sandbox", config=Config({"KernelManager": {"transport": "ipc"}}),
                                  timeout=60, allow_errors=True, resources={"metadata": {"path": str(work)}}).execute()
    assert res.cells[0].outputs[0]["text"] == "2\n"
    said = json.dumps(res.cells[1].outputs)
    assert "MemoryError" in said or "failed to map" in said, said[:1000]


@pytest.mark.skipif(not bwrap_available(), reason="bubblewrap not usable here")
def test_mnist_under_tmp_is_readable_inside_the_sandbox(tmp_path, monkeypatch):
    """A course cloned under /tmp keeps its data: the private /tmp would hide $MNIST_ROOT there
    (every student then lost hidden_load_mnist), so it is bound back read-only."""
    data = tmp_path / "mnist"
    data.mkdir()
    (data / "train-labels-idx1-ubyte").write_bytes(b"labels")
    monkeypatch.setenv("MNIST_ROOT", str(data))
    read = subprocess.run(sandbox_argv([sys.executable, "-c", f"print(open({str(data / 'train-labels-idx1-ubyte')!r}).read())"]),
                          capture_output=True, text=True, timeout=60)
    assert read.stdout.strip() == "labels", read.stderr
    # `../shared` beside a clone under /tmp is often a link: $MNIST_ROOT goes through it.
    (tmp_path / "shared").symlink_to(tmp_path)
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path / "shared" / "mnist"))
    read = subprocess.run(sandbox_argv([sys.executable, "-c", "import os; "
                                        "print(open(os.environ['MNIST_ROOT'] + '/train-labels-idx1-ubyte').read())"]),
                          capture_output=True, text=True, timeout=60)
    assert read.stdout.strip() == "labels", read.stderr
    write = subprocess.run(sandbox_argv([sys.executable, "-c", f"open({str(data / 'x')!r}, 'w')"]),
                           capture_output=True, text=True, timeout=60)
    assert write.returncode != 0 and not (data / "x").exists()


@pytest.mark.skipif(not bwrap_available(), reason="bubblewrap not usable here")
def test_package_folders_under_tmp_stay_importable_and_nothing_else_on_sys_path(tmp_path, monkeypatch):
    """A virtual environment that extends another through a `.pth` (the fresh-clone test, from a checkout
    under /tmp) imports torch from a site-packages folder outside its prefix: the private /tmp hid it and
    every probe died at import. Such folders are shown again, read-only; another `sys.path` entry (a course
    checkout, with grader_tests/) is not."""
    packages = tmp_path / "venv" / "lib" / "site-packages"
    packages.mkdir(parents=True)
    (packages / "extra_module.py").write_text("VALUE = 42\n")
    course = tmp_path / "course"
    (course / "grader_tests").mkdir(parents=True)
    (course / "grader_tests" / "secret.py").write_text("ANSWER = 1\n")
    monkeypatch.setattr(sys, "path", [str(course), str(packages), *sys.path])
    code = (f"import sys; sys.path[:0] = [{str(course)!r}, {str(packages)!r}]\n"
            "import extra_module; print(extra_module.VALUE)\n"
            "import os; print(os.path.exists(" + repr(str(course / "grader_tests" / "secret.py")) + "))\n")
    done = subprocess.run(sandbox_argv([sys.executable, "-c", code]), capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["42", "False"], done.stdout + done.stderr
    write = subprocess.run(sandbox_argv([sys.executable, "-c", f"open({str(packages / 'x.py')!r}, 'w')"]),
                           capture_output=True, text=True, timeout=60)
    assert write.returncode != 0 and not (packages / "x.py").exists()

"""Sandbox for running untrusted student code (notebooks) during grading.

nbgrader executes student notebooks as the instructor (root here).  We wrap
the command in bubblewrap (``/usr/bin/bwrap``):

* the whole file system is visible read-only (``--ro-bind / /``) so the venv,
  torch, CUDA libraries etc. just work;
* ``hidden`` directories (course root: gradebook.db, grader_tests/, source/,
  other students) are masked by an empty tmpfs; ``writable`` dirs nested in
  them are bound back *after* the mask (mounts are emitted shallow-to-deep);
* private /tmp, fresh /dev and /proc, no network, own pid/ipc/uts namespaces,
  new session (no TIOCSTI into our terminal), killed with its parent;
* environment reduced to an allow-list (no tokens/credentials leak in);
* GPU device nodes are passed through only to a process whose ``Limits.gpu`` asks for them,
  with its memory capped (`nnkit.sandbox.gpu_cap`).

Resource limits (``Limits``) are applied by the tiny launcher ``run.py`` which
then ``exec``s bwrap; see that module for why RLIMIT_DATA and pids cgroups.

If bwrap cannot run here (e.g. unprivileged container), a warning is printed
once and commands run with resource limits only -- no file or network
isolation.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

__all__ = ["Limits", "bwrap_available", "sandbox_argv", "install_kernelspec", "ensure_kernelspec", "KERNEL_NAME"]

KERNEL_NAME = "nnkit-sandbox"
BWRAP = shutil.which("bwrap") or "/usr/bin/bwrap"
_HERE = Path(__file__).resolve().parent
_RUN_PY = _HERE / "run.py"
_PKG_ROOT = _HERE.parent.parent  # directory that contains the ``nnkit`` package

GiB, MiB = 1 << 30, 1 << 20

# Environment variables passed into the sandbox (exact names or prefixes*).
ENV_ALLOW = ("PATH", "HOME", "LANG", "LANGUAGE", "TERM", "TZ", "USER", "LOGNAME", "SHELL",
             "VIRTUAL_ENV", "MPLBACKEND", "PYTHONHASHSEED", "PYTHONUNBUFFERED",
             "PYTHONDONTWRITEBYTECODE", "LC_*", "CUDA_*", "NVIDIA_*", "OMP_*", "MKL_*",
             "OPENBLAS_*", "TORCH_*", "PYTORCH_*", "JPY_*", "NNKIT_*", "MNIST_ROOT")


@dataclass
class Limits:
    """Per-process resource limits (memory/processes are also applied to the
    whole process tree through cgroups when the host allows it)."""
    memory_bytes: int = 4 * GiB
    cpu_seconds: int = 600
    max_processes: int = 256  # counts threads too (RLIMIT_NPROC and pids.max both do)
    file_size_bytes: int = 64 * MiB
    open_files: int = 1024
    gpu: bool = False                 # bind the GPU's device nodes (a probe grading on CUDA; nnkit.sandbox.gpu_cap)
    gpu_memory_bytes: int = 4 * GiB   # the GPU memory a process that sees one may use (gpu_cap.apply_cap)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))


def _bwrap_base() -> list[str]:
    return [BWRAP, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp", "--unshare-net", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--die-with-parent", "--new-session"]


@functools.cache
def bwrap_available() -> bool:
    """True if bwrap actually works here (probed once by running ``true``).

    Set ``NNKIT_SANDBOX_NO_BWRAP=1`` to force the rlimits-only fallback."""
    ok = False
    if not os.environ.get("NNKIT_SANDBOX_NO_BWRAP") and os.path.exists(BWRAP):
        try:
            ok = subprocess.run(_bwrap_base() + ["true"], stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
    if not ok:
        warnings.warn("nnkit.sandbox: bubblewrap (bwrap) is not usable here -- student code "
                      "runs with resource limits ONLY (no file-system or network isolation). "
                      "Install it with `apt-get install -y bubblewrap`.", RuntimeWarning, 2)
    return ok


def _gpu_devices() -> list[str]:
    return sorted(str(p) for pat in ("nvidia*", "dri") for p in Path("/dev").glob(pat))


def _gpu_args(limits: Limits) -> list[str]:
    """The GPU, with its memory cap, for a process whose limits allow one; none otherwise
    (`nnkit.sandbox.gpu_cap`: without the device nodes no code in the sandbox reaches a GPU)."""
    from nnkit.sandbox.run import gpu_env

    args = []
    for key, value in gpu_env(dataclasses.asdict(limits)).items():
        args += ["--unsetenv", key] if value is None else ["--setenv", key, value]
    if limits.gpu:
        for dev in _gpu_devices():
            args += ["--dev-bind", dev, dev]
    return args


def _env_args() -> list[str]:
    args = ["--clearenv"]
    for k, v in os.environ.items():
        if k == "JPY_PARENT_PID":  # outside pid is meaningless in our pid namespace (ipykernel
            v = "1"                # would see ppid 1 and quit); 1 = "don't poll", and
                                   # --die-with-parent already ends us with the client
        if any(k == a or (a.endswith("*") and k.startswith(a[:-1])) for a in ENV_ALLOW):
            args += ["--setenv", k, v]
    return args


def _data_roots() -> list[Path]:
    """Course data every sandboxed process may read ($MNIST_ROOT): shown again, read-only, when a
    hidden folder or the private /tmp covers it (a course, or its data, under /tmp)."""
    root = os.environ.get("MNIST_ROOT")
    return [Path(root).resolve()] if root and Path(root).is_dir() else []


def _site_dirs() -> list[Path]:
    """The package folders this Python imports from (site-packages / dist-packages on `sys.path`),
    including those a `.pth` adds outside `sys.prefix` (a virtual environment that extends another's:
    tests/test_fresh_clone.py). Only folders by those names: another `sys.path` entry, such as a course
    checkout, may hold what the sandbox hides (grader_tests/), so it is never shown again."""
    found = []
    for entry in sys.path:
        path = Path(entry) if entry else None
        if path is not None and path.name in ("site-packages", "dist-packages") and path.is_dir():
            found.append(path.resolve())
    return found


def _data_env() -> list[str]:
    """$MNIST_ROOT as the folder it resolves to: the path as given may go through a link in a
    folder the sandbox replaces (`../shared` linked from under /tmp), the resolved one is bound."""
    return [arg for root in _data_roots() for arg in ("--setenv", "MNIST_ROOT", str(root))]


def _inside(p: Path, d: Path) -> bool:
    return p == d or d in p.parents


def sandbox_argv(argv: Sequence[str | os.PathLike], *, writable: Iterable[Path] = (),
                 hidden: Iterable[Path] = (), limits: Limits | None = None,
                 readonly: Iterable[Path] = ()) -> list[str]:
    """Command line that runs ``argv`` sandboxed with ``limits``.

    ``writable``: bound read-write (everything else is read-only).
    ``hidden``: replaced by an empty tmpfs (non-existent paths are skipped).
    ``readonly``: bound read-only again after masking (for things needed from
    inside a hidden dir).  The Python installation and the nnkit package are
    re-exposed automatically if a hidden dir (or the private /tmp) covers them.
    Without bwrap only the limits apply (writable/hidden are ignored).
    """
    limits = limits or Limits()
    cmd = [os.fspath(a) for a in argv]
    if bwrap_available():
        hid = [Path(h).resolve() for h in hidden]
        hid = [h for h in hid if h.is_dir()]
        wr = [Path(w).resolve() for w in writable]
        ro = [Path(r).resolve() for r in readonly]
        needed = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent,
                  _PKG_ROOT / "nnkit", *_site_dirs(), *_data_roots()}
        masked = hid + [Path("/tmp")]  # _bwrap_base gives the sandbox a private /tmp
        ro += [p.resolve() for p in needed
               if any(_inside(p, h) for h in masked) and not any(_inside(p, w) for w in wr)]
        # (depth, kind) ordering: a parent mount never covers a later, deeper one;
        # at equal depth the mask comes first so a bind of the same path wins.
        mounts = sorted([(len(h.parts), 0, "--tmpfs", h) for h in hid]
                        + [(len(r.parts), 1, "--ro-bind", r) for r in ro]
                        + [(len(w.parts), 2, "--bind", w) for w in wr])
        args = _bwrap_base() + _env_args() + _gpu_args(limits) + _data_env()
        for _, _, kind, p in mounts:
            args += [kind, str(p)] if kind == "--tmpfs" else [kind, str(p), str(p)]
        cmd = args + ["--"] + cmd
    return [sys.executable, "-I", str(_RUN_PY), "--limits-json", limits.to_json(), "--", *cmd]


def install_kernelspec(prefix: str | os.PathLike | None = None, user: bool = False) -> str:
    """Install the ``nnkit-sandbox`` kernel spec (e.g. ``prefix=sys.prefix``).

    kernel.json gets this interpreter's absolute path, and a PYTHONPATH entry
    when ``nnkit`` is not importable from an arbitrary cwd (source checkout).
    Returns the installed directory."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = json.loads((_HERE / "kernelspec" / "kernel.json").read_text())
    spec["argv"][0] = sys.executable
    probe = subprocess.run([sys.executable, "-c", "import nnkit.sandbox.kernel"], cwd="/",
                           capture_output=True)
    if probe.returncode != 0:
        spec.setdefault("env", {})["PYTHONPATH"] = str(_PKG_ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "kernel.json").write_text(json.dumps(spec, indent=1))
        return KernelSpecManager().install_kernel_spec(
            tmp, KERNEL_NAME, user=user, prefix=None if prefix is None else str(prefix))


def ensure_kernelspec() -> None:
    """Install the sandbox kernel into this environment unless it is already there."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        if spec.argv and Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return
    except NoSuchKernel:
        pass
    install_kernelspec(prefix=sys.prefix)

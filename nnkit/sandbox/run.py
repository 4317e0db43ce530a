"""Launcher that puts resource limits on a command, then ``exec``s it.

Two forms::

    python run.py --limits-json '{"memory_bytes": ...}' -- CMD ARGS...
        Low level (what ``sandbox_argv`` emits; CMD is usually the bwrap line).
        This form is stdlib-only and is started by file path with ``python -I``,
        so it works from any cwd, even where ``nnkit`` is not importable.

    python -m nnkit.sandbox run [--writable DIR]... [--hide DIR]... [--memory-mb N]
           [--cpu-seconds N] [--max-processes N] [--file-size-mb N] [--open-files N] -- CMD ARGS...
        Full sandbox (bwrap + limits), the CLI form of ``nnkit.sandbox.sandbox_argv``
        (`nnkit/sandbox/__main__.py`: this launcher imports nothing of the package).

The limits are set on this process and inherited across ``exec`` by bwrap and
everything inside it:

* memory: RLIMIT_DATA, not RLIMIT_AS -- ``import torch`` alone maps ~3.4 GB of
  virtual address space and CUDA reserves far more, whereas RLIMIT_DATA only
  counts writable private memory, i.e. what a memory bomb actually allocates.
* processes: RLIMIT_NPROC is ignored for uid 0 (also for uid 0 mapped into a
  user namespace, measured), so when we can we also join a fresh *pids* cgroup
  (and a memory cgroup capping the whole process tree).  Empty cgroups left by
  earlier runs are removed at the next start, because after ``exec`` nobody is
  left to clean up.
"""
from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PREFIX = "nnkit-"


def _cgroup_paths() -> dict[str, str]:
    """Map controller name -> our cgroup path ('' key = cgroup v2)."""
    paths: dict[str, str] = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, ctrls, path = line.split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                paths[c] = path
    except OSError:
        pass
    return paths


def _make_cgroup(parent: Path, knobs: dict[str, str]) -> bool:
    """Create ``parent/nnkit-<pid>``, write ``knobs``, move this process in."""
    try:
        for stale in parent.glob(CGROUP_PREFIX + "*"):
            try:
                stale.rmdir()  # only succeeds when empty, i.e. its run is over
            except OSError:
                pass
        cg = parent / f"{CGROUP_PREFIX}{os.getpid()}"
        cg.mkdir(exist_ok=True)
    except OSError:
        return False
    try:
        for knob, value in knobs.items():
            (cg / knob).write_text(value)
        (cg / "cgroup.procs").write_text("0")
        return True
    except OSError:
        try:
            cg.rmdir()
        except OSError:
            pass
        return False


def join_cgroups(limits: dict) -> list[str]:
    """Best effort: confine the process tree with pids (+ memory) cgroups.

    Returns the controllers that are now in force (empty on read-only cgroupfs,
    e.g. in an unprivileged container)."""
    mem, npids = str(limits["memory_bytes"]), str(limits["max_processes"])
    own = _cgroup_paths()
    done = []
    if (CGROUP_ROOT / "pids" / "tasks").exists() or (CGROUP_ROOT / "memory" / "tasks").exists():
        v1 = {"pids": {"pids.max": npids}, "memory": {"memory.limit_in_bytes": mem}}
        for ctrl, knobs in v1.items():
            if ctrl in own and _make_cgroup(CGROUP_ROOT / ctrl / own[ctrl].lstrip("/"), knobs):
                done.append(ctrl)
    elif (CGROUP_ROOT / "cgroup.controllers").exists() and "" in own:
        parent = CGROUP_ROOT / own[""].lstrip("/")
        try:
            (parent / "cgroup.subtree_control").write_text("+pids +memory")
        except OSError:
            pass  # may already be enabled, or forbidden (no-internal-process rule)
        try:
            enabled = (parent / "cgroup.subtree_control").read_text().split()
        except OSError:
            enabled = []
        knobs = {"pids.max": npids} if "pids" in enabled else {}
        if "memory" in enabled:
            knobs["memory.max"] = mem
        if knobs and _make_cgroup(parent, knobs):
            done += [k.split(".")[0] for k in knobs]
    return done


def apply_rlimits(limits: dict) -> None:
    """Set the rlimits of ``Limits`` on this process (lowering only)."""
    def setlim(res: int, soft: int, hard: int | None = None) -> None:
        hard = soft if hard is None else hard
        cur_soft, cur_hard = resource.getrlimit(res)
        if cur_hard != resource.RLIM_INFINITY:
            hard, soft = min(hard, cur_hard), min(soft, cur_hard)
        resource.setrlimit(res, (soft, hard))

    setlim(resource.RLIMIT_DATA, limits["memory_bytes"])
    # soft limit -> SIGXCPU (default action: kill); hard limit -> SIGKILL 5 s later
    setlim(resource.RLIMIT_CPU, limits["cpu_seconds"], limits["cpu_seconds"] + 5)
    setlim(resource.RLIMIT_NPROC, limits["max_processes"])
    setlim(resource.RLIMIT_FSIZE, limits["file_size_bytes"])
    setlim(resource.RLIMIT_NOFILE, limits["open_files"])
    setlim(resource.RLIMIT_CORE, 0)


CAP_ENV = "NNKIT_GPU_MEMORY_BYTES"   # read by nnkit.sandbox.gpu_cap.apply_cap in the sandboxed process


def gpu_env(limits: dict) -> dict[str, str | None]:
    """The environment that says what GPU a sandboxed process may use (None: unset): none unless
    ``gpu``; else the memory cap, for torch (`nnkit.sandbox.gpu_cap`) and for CUDA MPS. bwrap gets
    it as --setenv/--unsetenv; without bwrap this launcher sets it before it execs."""
    if not limits.get("gpu"):
        return {"CUDA_VISIBLE_DEVICES": "", CAP_ENV: None}
    cap = int(limits.get("gpu_memory_bytes") or 0)
    return {CAP_ENV: str(cap), "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT": f"0={max(1, cap >> 20)}M"}


def exec_limited(limits: dict, cmd: list[str]) -> None:
    join_cgroups(limits)
    apply_rlimits(limits)
    for key, value in gpu_env(limits).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    os.execvp(cmd[0], cmd)


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" not in argv:
        sys.exit("usage: ... -- CMD [ARGS...]")
    i = argv.index("--")
    if i + 1 == len(argv):
        sys.exit("no command given after --")
    return argv[:i], argv[i + 1:]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    opts, cmd = _split(argv)
    if opts[:1] == ["--limits-json"] and len(opts) == 2:
        exec_limited(json.loads(opts[1]), cmd)
    # This launcher imports nothing of the package (the package imports it): the full form is there.
    sys.exit("usage: run.py --limits-json JSON -- CMD [ARGS...]; for the full sandbox: "
             "python -m nnkit.sandbox run [--writable DIR]... [--hide DIR]... [--memory-mb N] ... -- CMD [ARGS...]")


if __name__ == "__main__":
    main()

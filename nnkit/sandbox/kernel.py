"""Jupyter kernel launcher that runs ipykernel inside the nnkit sandbox.

Used by the ``nnkit-sandbox`` kernel spec: ``python -m nnkit.sandbox.kernel -f {connection_file}``,
which runs ``python -m nnkit.sandbox.warm_kernel`` (ipykernel with torch preloaded) sandboxed.
jupyter_client starts it with cwd = the notebook's folder (for nbgrader
autograde: ``autograded/<student>/<assignment>``), which becomes the only
writable directory.  Hidden: the course root (``$NNKIT_COURSE_ROOT``, else the
nearest ancestor holding ``nbgrader_config.py``), the instructor's home and the
Jupyter runtime dir (other kernels' connection files hold their HMAC keys),
plus anything in ``$NNKIT_SANDBOX_HIDE`` (os.pathsep-separated);
``$NNKIT_SANDBOX_READONLY`` re-exposes paths inside hidden dirs read-only
(e.g. a pre-downloaded dataset).  ``$NNKIT_SANDBOX_LIMITS`` may hold a JSON
dict overriding ``Limits`` fields.

Networking: the sandbox has no network namespace access, so TCP on 127.0.0.1
cannot reach the client.  The client must use ZMQ ``ipc`` transport
(``c.KernelManager.transport = "ipc"``): sockets are files.  The kernel binds
them in a private directory (bound writable into the sandbox) and we leave
symlinks at the paths the client expects (unix ``connect`` follows symlinks),
so the runtime dir itself stays hidden.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from nnkit.sandbox import Limits, bwrap_available, sandbox_argv

PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")


def find_course_root(start: Path) -> Path | None:
    """``$NNKIT_COURSE_ROOT`` or the nearest ancestor of ``start`` with nbgrader_config.py."""
    if os.environ.get("NNKIT_COURSE_ROOT"):
        return Path(os.environ["NNKIT_COURSE_ROOT"]).resolve()
    from nnkit.grading.course import course_folder_above

    return course_folder_above(start, with_graders=False)


def _sweep_stale(tmp: Path) -> None:
    """Remove socket dirs of dead kernels (we exec, so nobody cleans up after us)."""
    for d in tmp.glob("nnkit-kernel-*"):
        m = re.match(r"nnkit-kernel-(\d+)-", d.name)
        if not m:
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def _client_cwd() -> str:
    """cwd of the process that started us (the Jupyter client).

    jupyter_client's default ipc address is the *relative* path "kernel-ipc",
    which the client resolves against its own cwd, not the kernel's."""
    try:
        return os.readlink(f"/proc/{os.getppid()}/cwd")
    except OSError:
        return os.getcwd()


def _paths(var: str) -> list[Path]:
    return [Path(p) for p in os.environ.get(var, "").split(os.pathsep) if p]


def build_argv(connection_file: str, extra: list[str] = ()) -> list[str]:
    """The sandboxed ipykernel command line (creates the socket dir/symlinks).

    ``extra`` (e.g. nbclient's ``--HistoryManager.hist_file=:memory:``) goes to ipykernel."""
    conn_path = Path(connection_file).resolve()
    conn = json.loads(conn_path.read_text())
    cwd = Path.cwd().resolve()
    limits = Limits(**json.loads(os.environ.get("NNKIT_SANDBOX_LIMITS") or "{}"))
    kernel = [sys.executable, "-m", "nnkit.sandbox.warm_kernel", "-f"]   # ipykernel, torch preloaded
    if not bwrap_available():  # warned already; limits only, any transport works
        return sandbox_argv(kernel + [str(conn_path), *extra], limits=limits)
    if conn.get("transport") != "ipc":
        sys.exit("nnkit-sandbox kernel: the sandbox has no network, so the kernel needs ZMQ "
                 "ipc transport. Set c.KernelManager.transport = 'ipc' (nbgrader_config.py / "
                 "jupyter config), or `KernelManager(transport='ipc')`.")
    course = find_course_root(cwd)
    if course is None:
        print("nnkit-sandbox kernel: WARNING no course root found (no nbgrader_config.py above "
              f"{cwd}, NNKIT_COURSE_ROOT unset): nothing but home/runtime dir is hidden.",
              file=sys.stderr)
    tmp = Path(tempfile.gettempdir())
    _sweep_stale(tmp)
    sock_dir = Path(tempfile.mkdtemp(prefix=f"nnkit-kernel-{os.getpid()}-", dir=tmp))
    client_ip = Path(_client_cwd(), conn["ip"])  # no-op if ip is absolute
    for key in PORTS:
        link = Path(f"{client_ip}-{conn[key]}")
        if link.is_symlink():
            link.unlink()
        link.symlink_to(f"{sock_dir}/ipc-{conn[key]}")
    inner = sock_dir / "connection.json"
    with os.fdopen(os.open(inner, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:  # holds the key
        json.dump({**conn, "ip": str(sock_dir / "ipc")}, f)
    hidden = [conn_path.parent, Path.home(), *_paths("NNKIT_SANDBOX_HIDE")]
    if course is not None:
        hidden.append(course)
    return sandbox_argv(kernel + [str(inner), *extra], writable=[cwd, sock_dir], hidden=hidden,
                        limits=limits, readonly=_paths("NNKIT_SANDBOX_READONLY"))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="ipykernel inside the nnkit sandbox")
    p.add_argument("-f", dest="connection_file", required=True)
    args, extra = p.parse_known_args(argv)
    cmd = build_argv(args.connection_file, extra)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()

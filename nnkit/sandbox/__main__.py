"""``python -m nnkit.sandbox install-kernel [--sys-prefix | --user | --prefix DIR]``, and
``python -m nnkit.sandbox run [--writable DIR]... [--hide DIR]... [--memory-mb N] ... -- CMD ARGS...``
(CMD in the full sandbox: bwrap and the limits of `nnkit.sandbox.run`)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from nnkit.sandbox import KERNEL_NAME, Limits, install_kernelspec, sandbox_argv


def run(argv: list[str]) -> None:
    """Exec CMD in the full sandbox (`sandbox_argv`), as the options say."""
    if "--" not in argv or argv.index("--") + 1 == len(argv):
        sys.exit("usage: python -m nnkit.sandbox run [OPTIONS] -- CMD [ARGS...]")
    opts, cmd = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    d = Limits()
    p = argparse.ArgumentParser(prog="python -m nnkit.sandbox run",
                                description="Run CMD in the nnkit sandbox.")
    p.add_argument("--writable", action="append", default=[], type=Path, metavar="DIR")
    p.add_argument("--hide", action="append", default=[], type=Path, metavar="DIR")
    p.add_argument("--memory-mb", type=int, default=d.memory_bytes >> 20)
    p.add_argument("--cpu-seconds", type=int, default=d.cpu_seconds)
    p.add_argument("--max-processes", type=int, default=d.max_processes)
    p.add_argument("--file-size-mb", type=int, default=d.file_size_bytes >> 20)
    p.add_argument("--open-files", type=int, default=d.open_files)
    a = p.parse_args(opts)
    lim = Limits(memory_bytes=a.memory_mb << 20, cpu_seconds=a.cpu_seconds,
                 max_processes=a.max_processes, file_size_bytes=a.file_size_mb << 20,
                 open_files=a.open_files)
    full = sandbox_argv(cmd, writable=a.writable, hidden=a.hide, limits=lim)
    os.execv(full[0], full)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:   # its own parser: everything after `--` is the command's
        return run(argv[1:])
    p = argparse.ArgumentParser(prog="python -m nnkit.sandbox")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("run", help="run a command in the sandbox: run [OPTIONS] -- CMD [ARGS...]")
    k = sub.add_parser("install-kernel", help=f"install the '{KERNEL_NAME}' kernel spec")
    where = k.add_mutually_exclusive_group()
    where.add_argument("--sys-prefix", action="store_true", help="into sys.prefix (the venv)")
    where.add_argument("--user", action="store_true")
    where.add_argument("--prefix")
    a = p.parse_args(argv)
    prefix = sys.prefix if a.sys_prefix else a.prefix
    print(install_kernelspec(prefix=prefix, user=a.user))


if __name__ == "__main__":
    main()

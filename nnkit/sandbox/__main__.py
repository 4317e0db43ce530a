"""``python -m nnkit.sandbox install-kernel [--sys-prefix | --user | --prefix DIR]``."""
from __future__ import annotations

import argparse
import sys

from nnkit.sandbox import KERNEL_NAME, install_kernelspec


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m nnkit.sandbox")
    sub = p.add_subparsers(dest="cmd", required=True)
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

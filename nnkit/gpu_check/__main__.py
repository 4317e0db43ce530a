"""python -m nnkit.gpu_check: the check (see the package's docstring), or one of its workers (--worker)."""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import nnkit.gpu_check as package
from nnkit.gpu_check.check import PARTS, SEEDS, Check
from nnkit.gpu_check.processes import become_subreaper, kill_tree
from nnkit.gpu_check.workers import WORKERS, quiet_stdout


def _course_root(given: str | None) -> Path:
    if given:
        return Path(given).resolve()
    from nnkit.grading.course import Course

    return Course.containing(Path.cwd()).root


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnkit.gpu_check", description=package.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deadline", type=float, default=450, help="seconds for the whole check (default 450)")
    parser.add_argument("--out", default="gpu-check", help="folder for results.jsonl, summary.md and logs/")
    parser.add_argument("--only", type=lambda s: [p for p in s.split(",") if p],
                        help=f"comma-separated parts, of: {', '.join(PARTS)} (default: all)")
    parser.add_argument("--bank-on-cpu", action="store_true", help="without a GPU, run the mutant bank on the CPU")
    parser.add_argument("--autograde-on-cpu", action="store_true", help="without a GPU, run the autograde on the CPU")
    parser.add_argument("--calibrate-on-cpu", action="store_true",
                        help="without a GPU, measure the claims on the CPU (report in OUT/calibration/, not calibration/)")
    parser.add_argument("--throughput-on-cpu", action="store_true", help="without a GPU, run the throughput part on the CPU")
    parser.add_argument("--throughput-copies", type=int, default=16, metavar="N",
                        help="throughput: copies of the reference hand-in, students s01..sN (default 16)")
    parser.add_argument("--throughput-workers", type=int, metavar="W",
                        help="throughput: nnkit batch's LocalCluster workers (default: the number of cores)")
    parser.add_argument("--autograde", action="append", metavar="ASSIGNMENT",
                        help="the assignment(s) to autograde, or 'all' (default: the first, ps1)")
    parser.add_argument("--seeds", type=int, default=SEEDS, help="calibration seeds (default 10)")
    parser.add_argument("--course", help="the course folder (default: the one above the current folder)")
    # The workers (this module, started by the check itself).
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--devices", help=argparse.SUPPRESS)
    parser.add_argument("--device", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--assignment", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--copies", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--report-dir", help=argparse.SUPPRESS)
    parser.add_argument("--nice", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        if args.nice:
            os.nice(args.nice)
        quiet_stdout()
        return WORKERS[args.worker](args)

    if args.only and set(args.only) - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(set(args.only) - set(PARTS)))} (of: {', '.join(PARTS)})")
    if args.throughput_copies < 1 or (args.throughput_workers is not None and args.throughput_workers < 1):
        parser.error("--throughput-copies and --throughput-workers take a number of at least 1")
    root = _course_root(args.course)
    check = Check(args, root)
    become_subreaper()
    previous = signal.signal(signal.SIGTERM, _interrupted)
    try:
        return check.run()
    except KeyboardInterrupt:
        kill_tree(check.workers)
        print("gpu_check: interrupted; what had arrived is in " + str(check.results.path), file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        kill_tree(check.workers)


if __name__ == "__main__":
    sys.exit(main())

"""The mutant bank with probes forked from a warm zygote against freshly started probes.

    python benchmarks/warm_probes.py [--assignment ps1_learning_rates] [--wrong 12] [--correct 2] [--rounds 1]

Grades the first N wrong and M correct variants of one assignment (`nnkit.variants.check_all`, one
worker) twice per round: with `warm_probes=True` (each probe forked from a sandboxed zygote that
imported torch once, `nnkit.grading.probe_zygote`) and with `warm_probes=False` (each probe a fresh
sandboxed `python -m nnkit.grading.probe`). It prints, for each, the wall time and the CPU seconds
the whole machine spent (from /proc/stat, so the sandboxed processes count too), then

    CPU ratio = warm CPU / fresh CPU,   wall ratio = warm wall / fresh wall

(both in one run, as this machine is noisy). Each warm run includes starting its zygote; the
checkers' forkserver (`nnkit.grading.forked_checker`) is started before the first timed run. The verdicts must be the same both ways; the script
says so, or stops. The machine must be otherwise idle: the load average is printed for that reason.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from batch_scaling import busy_core_seconds  # noqa: E402  (the same machine-wide CPU figure)
from nnkit.grading.course import Course  # noqa: E402
from nnkit.variants import check_all, discover  # noqa: E402


def timed(course: Course, variants: list, warm: bool) -> tuple[float, float, dict]:
    start, busy = time.monotonic(), busy_core_seconds()
    results = check_all(course, variants, workers=1, warm_probes=warm)
    wall, cpu = time.monotonic() - start, busy_core_seconds() - busy
    return wall, cpu, {r.variant.label: (r.failed_cells, str(r.status)) for r in results}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignment", default="ps1_learning_rates")
    parser.add_argument("--wrong", type=int, default=12, help="first N wrong variants")
    parser.add_argument("--correct", type=int, default=2, help="first M correct variants")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)

    course = Course(ROOT)
    found = discover(course.variants_dir, [args.assignment])
    variants = ([v for v in found if v.kind == "wrong"][:args.wrong]
                + [v for v in found if v.kind == "correct"][:args.correct])
    print(f"{args.assignment}: {sum(v.kind == 'wrong' for v in variants)} wrong and "
          f"{sum(v.kind == 'correct' for v in variants)} correct variants, one worker; "
          f"load average {os.getloadavg()[0]:.2f} before")
    check_all(course, variants[:1], workers=1, warm_probes=False)   # untimed: starts the checkers' forkserver
    ratios = []
    for round_ in range(1, args.rounds + 1):
        figures = {}
        for warm in (True, False):
            figures[warm] = timed(course, variants, warm)
            wall, cpu, _ = figures[warm]
            print(f"round {round_} {'warm zygote ' if warm else 'fresh probes'}: {wall:6.1f} s wall, "
                  f"{cpu:6.1f} CPU s ({cpu / len(variants):.2f} per variant)", flush=True)
        if figures[True][2] != figures[False][2]:
            sys.exit(f"the verdicts differ: warm {figures[True][2]} against fresh {figures[False][2]}")
        ratios.append((figures[True][1] / figures[False][1], figures[True][0] / figures[False][0]))
        print(f"round {round_}: CPU ratio {ratios[-1][0]:.2f}, wall ratio {ratios[-1][1]:.2f}; same verdicts")
    if len(ratios) > 1:
        print("CPU ratios " + ", ".join(f"{c:.2f}" for c, _ in ratios)
              + "; wall ratios " + ", ".join(f"{w:.2f}" for _, w in ratios))


if __name__ == "__main__":
    main()

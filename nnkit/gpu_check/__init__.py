"""`make gpu-check`: the kit's checks on a GPU machine, within a deadline, each result kept as it comes.

    python -m nnkit.gpu_check [--deadline 450] [--out gpu-check] [--only PART,...] [--bank-on-cpu]
                              [--throughput-copies 16] [--throughput-workers CORES] [--throughput-on-cpu]

The parts, started side by side but for the throughput (the reference runs, the bank and the calibration each use their
share of the cores); whatever is still running at the deadline is killed, its whole process tree
with it, and what it had not reported is listed as "not reached in time":

  machine    Python, torch, CUDA, bubblewrap, the packages; asked in a subprocess, never here: this
             process starts the others, and a process that asked CUDA anything cannot be forked from
             safely (`nnkit.grading.devices`)
  reference  each reference solution (solutions/<ps>.ipynb) graded on CUDA and on the CPU: the same
             score on both, full marks, no grader error
  hog        a GPU-memory hog among honest hand-ins: a sandboxed probe that allocates GPU memory until it
             fails, holding what it got, while three ps1 reference runs are graded on CUDA beside it;
             passes when the hog got no more than its cap (`nnkit.sandbox.gpu_cap`) and the honest
             runs kept full marks
  bank       the mutant bank on CUDA: every wrong variant caught, no correct one failed
  calibrate  every calibration claim over 10 seeds on CUDA, each (assignment, seed) handed to the next
             free worker process (half the cores, niced) -> calibration/cuda.md and cuda.json, claims
             not measured on every seed in time listed as such
  autograde  one full `nbgrader autograde` of a reference hand-in (the first assignment's; --autograde
             PS or all), graders on CUDA, in a copy of the course with a gradebook of its own (needs
             nbgrader: `make wheelhouse-full` carries it where it fits)
  throughput `nnkit batch` (a Dask LocalCluster, one `nbgrader autograde` job per hand-in) over
             --throughput-copies N copies (default 16) of the first assignment's reference hand-in,
             students s01..sN, in a copy of the course with a gradebook of its own, on
             --throughput-workers W workers (default: the cores), graders on CUDA; started once the
             parts above have ended (alone on the machine: its rate is not shared with them), with what
             is left of the deadline (at least 90 s, else "not reached in time"). Reports hand-ins per
             minute, the wall time, each hand-in's status and score (all must be "graded" with full
             marks), and the projected time for 300 students x 4 assignments at that rate, scaled by the
             assignments' core-seconds in docs/scale-out.md (`nnkit.gpu_check.throughput`)

With no GPU: "no CUDA GPU visible: checking on the CPU only"; the reference solutions are graded on
the CPU, the bank runs on the CPU only with --bank-on-cpu (about 10 minutes on 2 cores), the
autograde only with --autograde-on-cpu, the throughput only with --throughput-on-cpu, and the
calibration only with --calibrate-on-cpu (its report then goes to OUT/calibration/, never over
calibration/cpu.md: `make calibrate` writes that).

Every result is a JSON line in OUT/results.jsonl, written when it arrives; OUT/summary.md (also
printed) sums them up; OUT/logs/ keeps each worker's own output. Exit status 1 if any check that
ran failed (scores that differ between devices, a wrong variant not caught, a correct one failed,
a claim that does not hold on every seed, an autograde not graded on CUDA, a throughput hand-in not
graded with full marks, a part that crashed);
0 otherwise, also when a part was not reached in time (the summary says which).

The workers are this package again (``python -m nnkit.gpu_check --worker KIND``); they write their results as JSON lines on
stdout and everything else to their log.

The package, by part: `machine` (the machine question), `records` (results.jsonl), `processes`
(the workers and the deadline's kill), `check` (the orchestrator), `summary` (summary.md and the
verdicts), `workers` (what each worker runs), `throughput` (the throughput part: its worker, projection and
summary), `__main__` (the command line).
"""

# Run on the H200 on 2026-12-04 (110 s, 7 processes): `python3 benchmarks/cuda_deep_claims.py cuda 10` from the course root.
"""On the GPU: re-measure ps4's deep-network claims over 10 seeds, one process per claim, and merge
them into calibration/cuda.json/.md in place of the old 6x2 rows (other rows kept)."""
import json, sys, time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

ROOT = Path.cwd()
A = "ps4_learning_curves"
DEVICE = sys.argv[1] if len(sys.argv) > 1 else "cuda"
SEEDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def deep(name):
    return "4-2-2-2-2-2" in name or "deep / 4-2" in name


def one(name):
    from nnkit.threads import use_grading_threads
    use_grading_threads(1)
    from nnkit.calibration import load_claims, measure
    from nnkit.grading.course import Course
    from nnkit.grading.devices import pick_device
    from nnkit.grading.precision import use_ieee_float32
    use_ieee_float32()
    course = Course(ROOT)
    [claim] = [c for c in load_claims(course, A) if c.name == name]
    t = time.time()
    r = measure(claim, A, SEEDS, pick_device(DEVICE))
    return asdict(r), time.time() - t


if __name__ == "__main__":
    import multiprocessing
    from nnkit.calibration import ClaimResult, load_claims, write_report
    from nnkit.grading.course import Course
    names = [c.name for c in load_claims(Course(ROOT), A) if deep(c.name)]
    print(names, flush=True)
    with ProcessPoolExecutor(len(names), mp_context=multiprocessing.get_context("spawn")) as pool:
        done = list(pool.map(one, names))
    for r, s in done:
        print(f"{r['claim']}: {r['holds_on']}/{r['seeds']} min {r['minimum']:.4g} max {r['maximum']:.4g} in {s:.0f} s", flush=True)
    folder = ROOT / "calibration"
    kind = "cuda" if DEVICE.startswith("cuda") else "cpu"
    old = json.loads((folder / f"{kind}.json").read_text())
    fields = ClaimResult.__dataclass_fields__
    kept = [ClaimResult(**{k: v for k, v in c.items() if k in fields}) for c in old["claims"]
            if not (c["assignment"] == A and ("6x2" in c["claim"] or deep(c["claim"])))]
    new = [ClaimResult(**r) for r, _ in done]
    order = {n: i for i, n in enumerate(c.name for c in load_claims(Course(ROOT), A))}
    merged = sorted(kept + new, key=lambda r: (r.assignment, order.get(r.claim, -1) if r.assignment == A else 0))
    # keep the order of the other assignments' rows as they were
    merged = [r for r in kept if r.assignment != A] + sorted([r for r in kept + new if r.assignment == A],
                                                             key=lambda r: order.get(r.claim, 999))
    print(write_report(merged, folder, DEVICE if kind == "cuda" else "cpu", keep_earlier=False), flush=True)

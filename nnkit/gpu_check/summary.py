"""OUT/summary.md of `make gpu-check`, and its verdicts: what passed, what failed, what the deadline cut off."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from nnkit.gpu_check.machine import NO_GPU, describe_machine
from nnkit.gpu_check.records import NOT_REACHED

if TYPE_CHECKING:   # for the annotation only: check.py imports this module
    from nnkit.gpu_check.check import Check


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def seeds_holding(claim: dict, values) -> int:
    import operator

    ops = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
    return sum(ops[claim["op"]](float(v), claim["threshold"]) for v in values)


def _fmt_score(record: dict | None) -> str:
    if record is None:
        return NOT_REACHED
    if record.get("error"):
        return "error"
    text = f"{record['score']:g}/{record['max_score']:g}"
    return text if record.get("status") == "graded" else f"{text} ({record.get('status')})"


def summarise(check: "Check") -> tuple[list[str], list[str], list[str], list[dict]]:
    """The summary's lines, the failures, what was not reached in time, and a record for each item
    of it that no worker reported (the calibration's claims have theirs already)."""
    results, failures, unreached, late = check.results, [], [], []
    machine = check.machine
    lines = [f"# GPU check, {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M')} UTC", "",
             f"Machine: {describe_machine(machine)}." if not machine.get("error") and not machine.get("torch_error")
             else f"Machine: cannot check: {machine.get('error') or machine.get('torch_error')}"]
    if machine.get("torch_error") or machine.get("error"):
        failures.append("the machine check failed")
    elif not machine.get("cuda"):
        lines.append(NO_GPU + ".")
    lines.append(f"Deadline {check.args.deadline:g} s; took {time.monotonic() - check.start:.0f} s.")

    if hasattr(check, "expected_reference"):
        devices = sorted({d for _, d in check.expected_reference}, key=lambda d: d != "cuda")
        lines += ["", "## Reference solutions, graded on " + " and ".join(devices), "",
                  "Passes when the score is the same on every device, full marks, with no grader error.", ""]
        if devices == ["cuda", "cpu"]:
            lines += ["| assignment | score cuda | score cpu | seconds cuda | seconds cpu | cuda / cpu | verdict |",
                      "|---|---|---|---|---|---|---|"]
        else:
            lines += [f"| assignment | score {devices[0]} | seconds {devices[0]} | verdict |", "|---|---|---|---|"]
        for assignment in sorted({a for a, _ in check.expected_reference}):
            runs = {d: (results.of("reference", assignment=assignment, device=d) or [None])[-1] for d in devices}
            verdict = reference_verdict(runs)
            if verdict.startswith("FAIL"):
                failures.append(f"reference {assignment}: {verdict}")
            for d, r in runs.items():
                if r is None:
                    unreached.append(f"reference {assignment} on {d}")
                    late.append({"part": "reference", "assignment": assignment, "device": d})
            secs = {d: (f"{r['seconds']:.0f}" if r and not r.get("error") else "-") for d, r in runs.items()}
            if devices == ["cuda", "cpu"]:
                ratio = ("-" if "-" in secs.values() or not runs["cpu"]["seconds"]
                         else f"{runs['cuda']['seconds'] / runs['cpu']['seconds']:.2f}")
                lines.append(f"| {assignment} | {_fmt_score(runs['cuda'])} | {_fmt_score(runs['cpu'])} | {secs['cuda']} "
                             f"| {secs['cpu']} | {ratio} | {verdict} |")
            else:
                lines.append(f"| {assignment} | {_fmt_score(runs[devices[0]])} | {secs[devices[0]]} | {verdict} |")
        for r in results.of("reference"):
            for error in r.get("grader_errors") or []:
                lines.append(f"* grader error, {r['assignment']} on {r['device']}: {error.get('type')}: "
                             f"{error.get('message')} ({error.get('file')}:{error.get('line')})")
            if r.get("status") not in (None, "graded") and r.get("detail_tail"):
                lines.append(f"* {r['assignment']} on {r['device']} {r['status']}; the checker's last output:")
                lines += ["  " + x for x in r["detail_tail"].splitlines()[-12:]]

    hog = [r for r in results.of("hog") if r.get("status") in ("pass", "fail")]
    if hog:
        lines += ["", "## A GPU-memory hog among honest hand-ins", "", f"{hog[0]['status']}: {hog[0]['what']}"]
        if hog[0]["status"] == "fail":
            failures.append("hog: " + hog[0]["what"])
    elif any(w.part == "hog" for w in check.workers):
        unreached.append("hog")

    if hasattr(check, "bank_device"):
        lines += ["", f"## Mutant bank on {check.bank_device}", ""]
        done = [r for r in results.of("bank") if "variant" in r]
        if check.bank_report:
            lines += ["```", check.bank_report["text"].splitlines()[-1], "```"]
            bad = [x for x in check.bank_report["text"].splitlines() if x.startswith("BAD")]
            lines += [f"    {x}" for x in bad]
            if not check.bank_report.get("ok"):
                failures.append("mutant bank: " + check.bank_report["text"].splitlines()[-1])
        else:
            wrong = [r for r in done if r["variant_kind"] == "wrong"]
            correct = [r for r in done if r["variant_kind"] == "correct"]
            lines.append(f"{len(done)} of {len(check.bank_plan) or '?'} variants checked before the deadline: "
                         f"{sum(r['caught'] for r in wrong)}/{len(wrong)} wrong ones caught, "
                         f"{sum(not r['as_expected'] for r in correct)}/{len(correct)} correct ones failed.")
            for r in done:
                if not r["as_expected"]:
                    lines.append(f"    BAD {r['variant']}: " + (", ".join(r.get("failed_cells") or []) or "passes every grader"))
                    failures.append(f"mutant bank: {r['variant']}")
            seen = {r["variant"] for r in done}
            left = [v for v in check.bank_plan if v["label"] not in seen]
            late += [{"part": "bank", "variant": v["label"], "variant_kind": v["kind"]} for v in left]
            if left or not check.bank_plan:
                unreached.append(f"mutant bank: {len(left) if check.bank_plan else 'all'} variants")
                by: dict[str, int] = {}
                for v in left:
                    by[v["label"].split("/")[0]] = by.get(v["label"].split("/")[0], 0) + 1
                lines.append(f"{NOT_REACHED}: " + (", ".join(f"{n} of {a}" for a, n in by.items())
                                                    if check.bank_plan else "the whole bank")
                             + " (each listed in results.jsonl)")

    if check.calibration or any(w.part == "calibrate" for w in check.workers):
        lines += ["", f"## Calibration on {check.calibrate_device}, {check.args.seeds} seeds", ""]
        claims = [r for r in results.of("calibrate") if r.get("status") in ("pass", "fail")]
        broken = [r for r in claims if r["status"] == "fail"]
        errors = [r for r in results.of("calibrate") if r.get("status") == "error" and not r.get("worker")]
        late = [r for r in results.of("calibrate") if r.get("status") == NOT_REACHED]
        lines.append(f"{len(claims)} claims measured on every seed: {len(claims) - len(broken)} hold on every seed, "
                     f"{len(broken)} do not; {len(late)} {NOT_REACHED}; {len(errors)} errors."
                     + (f" Report: {_shown(check.calibration_written, check.root)} and .json."
                        if check.calibration_written else ""))
        for r in broken:
            lines.append(f"* DOES NOT HOLD: {r['assignment']}: {r['claim']} ({r['holds_on']}/{r['seeds']} seeds, "
                         f"margin {r['margin']:.4g})")
            failures.append(f"claim {r['assignment']}: {r['claim']}")
        for r in errors:
            lines.append(f"* ERROR: {r.get('assignment', '')}: {r.get('claim', '')} {r.get('why', '')}")
            failures.append(f"calibration: {r.get('claim') or r.get('why')}")
        for assignment in getattr(check, "calibration_missing", []):
            unreached.append(f"calibration {assignment} (not started)")
            lines.append(f"* {NOT_REACHED}: {assignment}: no seed of it was started")
        if late:
            unreached.append(f"calibration: {len(late)} claims")
            by = {}
            for r in late:
                by.setdefault(r["assignment"], []).append(r["claim"])
            for assignment, names in by.items():
                lines.append(f"* {NOT_REACHED}: {assignment}: {len(names)} claims ({'; '.join(names[:5])}"
                             f"{' ...' if len(names) > 5 else ''})")

    if hasattr(check, "expected_autograde"):
        lines += ["", f"## nbgrader autograde of the reference hand-ins, graders on {check.autograde_device}", ""]
        for assignment in check.expected_autograde:
            got = results.of("autograde", assignment=assignment)
            if not got:
                unreached.append(f"autograde {assignment}")
                late.append({"part": "autograde", "assignment": assignment})
                lines.append(f"* {assignment}: {NOT_REACHED}")
                continue
            r = got[-1]
            lines.append(f"* {assignment}: {r['status']}: {r.get('detail', '')}")
            if r["status"] != "pass":
                failures.append(f"autograde {assignment}: {r.get('detail', '')}")

    if getattr(check, "throughput_plan", None):
        from nnkit.gpu_check.throughput import summarise_throughput

        more = summarise_throughput(check)
        lines += more[0]
        failures += more[1]
        unreached += more[2]
        late += more[3]

    worker_errors = [r for r in results.records if r.get("status") == "error" and r.get("worker")]
    for r in worker_errors:
        failures.append(f"{r['worker']}: {r['why']}")
    if check.skipped:
        lines += ["", "## Skipped", ""] + [f"* {part}: {why}" for part, why in check.skipped.items()]
    lines += ["", "## Verdict", ""]
    if failures:
        lines.append(f"FAILED: {len(failures)} " + ("check" if len(failures) == 1 else "checks") + " failed:")
        lines += [f"* {f}" for f in failures]
    else:
        lines.append("PASSED: every check that ran passed.")
    if unreached:
        lines.append(f"{NOT_REACHED.capitalize()}: " + "; ".join(unreached) + ".")
    return lines, failures, unreached, late


def reference_verdict(runs: dict) -> str:
    if any(r is None for r in runs.values()):
        return NOT_REACHED if all(r is None for r in runs.values()) else f"incomplete ({NOT_REACHED})"
    problems = []
    for device, r in runs.items():
        if r.get("error"):
            problems.append(f"{device}: {r['error']}")
        elif r["status"] != "graded":
            problems.append(f"{device}: {r['status']}")
        elif r["score"] != r["max_score"]:
            problems.append(f"{device}: {r['score']:g} of {r['max_score']:g}")
        if r.get("grader_errors"):
            problems.append(f"{device}: {len(r['grader_errors'])} grader errors")
    scores = {r.get("score") for r in runs.values()}
    if len(scores) > 1:
        problems.insert(0, "scores differ")
    return "FAIL: " + "; ".join(problems) if problems else "pass"

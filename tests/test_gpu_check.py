"""`make gpu-check` (nnkit/gpu_check/) and `make wheelhouse` (nnkit/wheelhouse.py), on the CPU and
(but for the throughput part's run) without a grader run: the machine part, the records, the verdicts, the process-tree kill, the
calibration report's merge of seeds measured apart."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnkit import wheelhouse
from nnkit.gpu_check import check as gpu_check_run, machine as gpu_machine, processes as gpu_processes
from nnkit.gpu_check import records as gpu_records, summary as gpu_summary

ROOT = Path(__file__).resolve().parents[1]
# The fast tier (`make check`), each test but the throughput run, which is slow.
CHECK = pytest.mark.check


@CHECK
def test_machine_only_says_what_it_checked(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "nnkit.gpu_check", "--only", "machine", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["part"] for r in records] == ["machine", "summary"]
    machine = records[0]
    assert machine["status"] == "ok" and machine["torch"] and machine["python"]
    if not machine["cuda"]:          # asked in a subprocess: this process never asks CUDA
        assert gpu_machine.NO_GPU in done.stdout
    assert records[-1]["failures"] == [] and records[-1]["not_reached"] == []
    summary = (out / "summary.md").read_text()
    assert "PASSED" in summary and "Machine: Python" in summary


@CHECK
def test_unknown_part_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "-m", "nnkit.gpu_check", "--only", "machine,gpu", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "unknown parts: gpu" in done.stderr


def _run(device, score, status="graded", max_score=16.0, errors=()):
    return {"device": device, "score": score, "max_score": max_score, "status": status, "seconds": 1.0,
            "grader_errors": list(errors)}


@CHECK
def test_reference_verdict():
    verdict = gpu_summary.reference_verdict
    assert verdict({"cuda": _run("cuda", 16), "cpu": _run("cpu", 16)}) == "pass"
    assert verdict({"cuda": _run("cuda", 14), "cpu": _run("cpu", 16)}).startswith("FAIL: scores differ")
    assert verdict({"cpu": _run("cpu", 14)}) == "FAIL: cpu: 14 of 16"           # equal is not enough: full marks
    assert "crashed" in verdict({"cuda": _run("cuda", 0, "crashed"), "cpu": _run("cpu", 16)})
    assert "grader errors" in verdict({"cpu": _run("cpu", 16, errors=[{"type": "KeyError"}])})
    assert verdict({"cuda": None, "cpu": None}) == gpu_records.NOT_REACHED
    assert gpu_records.NOT_REACHED in verdict({"cuda": None, "cpu": _run("cpu", 16)})


@CHECK
def test_descendants_finds_a_tree_in_another_session():
    """What the deadline kills: every process below, in whatever session it put itself."""
    parent = subprocess.Popen(["sh", "-c", "setsid sleep 30 & wait"], start_new_session=True)
    try:
        for _ in range(50):
            below = gpu_processes.descendants(parent.pid)
            if below:
                break
            time.sleep(0.1)
        assert below, "the grandchild was not found"
        assert parent.pid in gpu_processes.descendants(os.getpid())
    finally:
        for pid in below + [parent.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        parent.wait()


@CHECK
def test_wheel_names_and_what_is_never_installed():
    assert wheelhouse.wheel_name(Path("rpds_py-2026.9.1-cp312-cp312-manylinux_2_17_x86_64.whl")) == ("rpds-py", "2026.9.1")
    assert wheelhouse.wheel_name(Path("typing_extensions-4.16.0-py3-none-any.whl")) == ("typing-extensions", "4.16.0")
    for name in ("torch", "numpy", "nvidia-cudnn-cu13", "triton", "torchvision"):
        assert wheelhouse.NEVER.match(name)
    assert not wheelhouse.NEVER.match("nbformat")
    # `make wheelhouse-full` carries `nnkit batch`'s Dask too (the throughput part of gpu_check).
    assert {"dask", "distributed"} <= {wheelhouse.normalise(r.split(">")[0].split("=")[0]) for r in wheelhouse.JUPYTER}


@CHECK
def test_install_skips_what_is_installed(tmp_path, capsys):
    """A wheel whose distribution this Python already has is left alone (pip is not even started)."""
    for name in ("nbformat-5.11.1-py3-none-any.whl", "torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl"):
        (tmp_path / name).write_bytes(b"")
    assert wheelhouse.install(tmp_path, None) == 0
    said = capsys.readouterr().out
    assert "1 of its distributions already installed (nbformat" in said and "installing" not in said


@CHECK
def test_calibration_report_from_seeds_measured_apart(tmp_path):
    """gpu_check measures a claim's seeds in several processes; `summarise` puts them together as
    `measure` would, and the report lists the claims not reached in time."""
    import torch

    from nnkit.calibration import summarise, write_report

    result = summarise("ps1", "lr=1 diverges", "final / first loss", ">=", 2.0, [3.0, 1.5, 9.0])
    assert (result.minimum, result.median, result.maximum, result.holds_on, result.seeds) == (1.5, 3.0, 9.0, 2, 3)
    assert result.margin == -0.5 and not result.holds
    (tmp_path / "cpu.json").write_text(json.dumps({"claims": [{**vars(result), "assignment": "ps9"}]}))
    late = [{"assignment": "ps1", "claim": "slow claim", "statistic": "s", "op": "<", "threshold": 1.0,
             "seeds_done": 4, "seeds": 3}]
    path = write_report([result], tmp_path, torch.device("cpu"), not_reached=late, keep_earlier=False)
    text = path.read_text()
    assert "| ps1 | slow claim | s | < 1 | | | | | not reached in time (4 of 3 seeds) |" in text
    assert "ps9" not in text                   # keep_earlier=False: only this run's rows
    data = json.loads((tmp_path / "cpu.json").read_text())
    assert [c["claim"] for c in data["claims"]] == ["lr=1 diverges"] and data["not_reached"] == late


@CHECK
def test_summary_lists_what_the_deadline_cut_off(tmp_path):
    """A bank stopped at the deadline: what arrived is judged, the rest is recorded as not reached;
    a reference scored differently on the two devices fails the check."""
    import argparse

    args = argparse.Namespace(deadline=60, seeds=10, out=str(tmp_path))
    check = gpu_check_run.Check.__new__(gpu_check_run.Check)
    check.args, check.root, check.out, check.start, check.workers = args, ROOT, tmp_path, time.monotonic(), []
    check.results = gpu_records.Results(tmp_path / "results.jsonl", check.start)
    check.machine = {"python": "3.12", "cuda": True, "gpu": "GPU", "gpus": 1, "cpus": 16}
    check.skipped, check.calibration, check.bank_report = {}, {}, {}
    check.expected_reference = [("ps1", "cuda"), ("ps1", "cpu")]
    check.bank_device = "cuda"
    check.bank_plan = [{"label": f"ps1/wrong/w{i}", "kind": "wrong"} for i in range(3)]
    check.results.add({"part": "reference", **_run("cuda", 14), "assignment": "ps1"})
    check.results.add({"part": "reference", **_run("cpu", 16), "assignment": "ps1"})
    check.results.add({"part": "bank", "variant": "ps1/wrong/w0", "variant_kind": "wrong", "as_expected": True,
                       "caught": True, "status": "pass"})
    assert check.finish() == 1
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    late = [r["variant"] for r in records if r.get("status") == gpu_records.NOT_REACHED]
    assert late == ["ps1/wrong/w1", "ps1/wrong/w2"]
    summary = (tmp_path / "summary.md").read_text()
    assert "| ps1 | 14/16 | 16/16 |" in summary and "FAIL: scores differ" in summary
    assert "1 of 3 variants checked before the deadline: 1/1 wrong ones caught" in summary
    assert "not reached in time: 2 of ps1" in summary and records[-1]["failures"] == ["reference ps1: FAIL: "
                                                                                      "scores differ; cuda: 14 of 16"]


@pytest.mark.slow
def test_throughput_part_on_the_cpu(tmp_path, mnist_folder):
    """The throughput part: `nnkit batch` over 2 copies of ps1's reference hand-in on 2 LocalCluster
    workers (about 25 s on the 2-core machine), hand-ins per minute and every hand-in graded with full
    marks, in its JSON lines; the class projection scaled by the assignments' core-seconds."""
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "nnkit.gpu_check", "--only", "machine,throughput", "--out", str(out),
                           "--throughput-on-cpu", "--throughput-copies", "2", "--throughput-workers", "2",
                           "--deadline", "240"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MNIST_ROOT": str(mnist_folder)})
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    said = done.stdout[-3000:] + done.stderr[-3000:] + (out / "logs" / "throughput.log").read_text()[-3000:]
    assert done.returncode == 0, said
    part = [r for r in records if r["part"] == "throughput"]
    hand_ins = [r for r in part if r.get("kind") == "hand-in"]
    assert sorted(r["student"] for r in hand_ins) == ["s01", "s02"], said
    for r in hand_ins:
        assert r["run_status"] == "graded" and r["status"] == "pass", r
        assert r["score"] == r["max_score"] == 16 and r["ran_on"] == "cpu" and r["wall_seconds"] > 0, r
    result = [r for r in part if r.get("kind") == "result"]
    assert len(result) == 1, part
    result = result[0]
    assert result["status"] == "pass" and result["per_minute"] > 0 and result["graded_full_marks"] == 2, result
    assert (result["copies"], result["workers"], result["device"]) == (2, 2, "cpu")
    assert result["statuses"] == {"graded": 2} and result["batch_seconds"] <= result["seconds"]
    found = result["projection"]
    assert found["minutes_as_average"] == pytest.approx(1200 / result["per_minute"], rel=0.01)
    assert found["minutes_scaled"] == pytest.approx(300 * found["per_student"] / result["per_minute"], rel=0.01)
    assert found["per_student"] == pytest.approx(65.9 / 14.1, abs=0.01)
    assert records[-1]["part"] == "summary" and records[-1]["failures"] == [] and records[-1]["not_reached"] == []
    summary = (out / "summary.md").read_text()
    assert "## Throughput: `nnkit batch` over 2 copies" in summary and "| s02 | graded | 16/16 |" in summary
    assert "PASSED" in summary


@CHECK
def test_throughput_is_skipped_without_a_gpu_unless_asked(tmp_path):
    import argparse

    check = gpu_check_run.Check.__new__(gpu_check_run.Check)
    check.args = argparse.Namespace(throughput_on_cpu=False, throughput_copies=16, throughput_workers=None)
    check.results, check.skipped, check.cpus = gpu_records.Results(tmp_path / "r.jsonl", time.monotonic()), {}, 16
    check.machine = {"packages": {"nbgrader": "0.9.6", "nbclient": "0.11", "ipykernel": "7", "dask": "1", "distributed": "1"}}
    check._plan_throughput(False, ["ps1_learning_rates"])
    assert "--throughput-on-cpu" in check.skipped["throughput"] and not getattr(check, "throughput_plan", None)
    check._plan_throughput(True, ["ps1_learning_rates"])
    assert check.throughput_plan == {"assignment": "ps1_learning_rates", "copies": 16, "workers": 16, "device": "cuda"}
    check.machine["packages"]["distributed"] = None
    del check.throughput_plan
    check._plan_throughput(True, ["ps1_learning_rates"])
    assert "make wheelhouse-full" in check.skipped["throughput"] and not getattr(check, "throughput_plan", None)

"""Issue 21, part 1: a fresh clone grades from any folder, under /tmp included.

The checkout's HEAD is cloned into a new folder under /tmp, with `shared/data/mnist` beside it as a link to
MNIST (the layout `make test` expects: `$MNIST_ROOT` is `../shared/data/mnist`, a path through a link
under /tmp, which the sandbox's private /tmp hid from the probe until 1212072). Nothing is installed:
the clone gets a bare virtual environment of its own whose `.pth` puts the clone first on `sys.path`
and then this checkout's `.venv` packages (torch, nbgrader, pytest), so the kit that grades, in the
command, the checker and the sandboxed probe, is the clone's, not this checkout's editable install.

From the clone, `nnkit grade` grades ps2's executed reference notebook (`solutions/`) in the sandbox,
MNIST included (`hidden_load_mnist` reads it in the probe), and must give full marks. About 20 s on the
2-core development machine. What is committed is what is tested: uncommitted edits are not in the clone.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT

ASSIGNMENT = "ps2_regularization"   # the assignment that reads MNIST in the sandbox


@pytest.fixture
def clone(mnist_folder):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout to clone")
    parent = Path(tempfile.mkdtemp(prefix="nnkit-fresh-clone-", dir="/tmp"))
    try:
        root = parent / "main"
        done = subprocess.run(["git", "clone", "--quiet", str(ROOT), str(root)], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        (parent / "shared" / "data").mkdir(parents=True)
        (parent / "shared" / "data" / "mnist").symlink_to(mnist_folder.resolve())
        venv = root / ".venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        packages = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
        # The clone first, then this checkout's packages (whose editable install of nnkit comes last:
        # setuptools' editable finder is consulted only after sys.path).
        (packages / "00-nnkit-fresh-clone.pth").write_text(
            f"{root}\nimport site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
        yield root
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_a_fresh_clone_under_tmp_grades_the_reference_with_full_marks(clone):
    python = clone / ".venv" / "bin" / "python"
    env = {**os.environ, "MNIST_ROOT": str(clone / ".." / "shared" / "data" / "mnist")}
    env.pop("PYTHONPATH", None)
    where = subprocess.run([str(python), "-c", "import nnkit; print(nnkit.__file__)"], cwd=clone, env=env,
                           capture_output=True, text=True, timeout=60)
    assert where.stdout.strip() == str(clone / "nnkit" / "__init__.py"), where.stdout + where.stderr

    done = subprocess.run([str(python), "-m", "nnkit", "grade", f"solutions/{ASSIGNMENT}.ipynb",
                           "--assignment", ASSIGNMENT, "--device", "cpu"],
                          cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert done.stdout.startswith(f"{ASSIGNMENT}: graded"), report
    total = next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("total"))
    got, full = total.split("/")
    assert float(got) == float(full) > 0, report
    assert "hidden_load_mnist" in done.stdout and "MNIST" not in done.stderr, report

"""What `make gpu-check` needs on a GPU machine with no package index, carried in `carry/`.

    make wheelhouse [PY=3.12]    python -m nnkit.wheelhouse build --python-version 3.12 carry
    make wheelhouse-full         ... --jupyter: the Jupyter stack for `nbgrader autograde` too, if it fits
    make gpu-check               python -m nnkit.wheelhouse install carry/wheels --kit .   (on the GPU machine)

`build` (here, with this machine's pip and its index) fills:

    carry/wheels/    every wheel the grading path imports beyond torch, numpy and pytest (nbformat,
                     jsonschema < 4.25 and what it needs, traitlets, jupyter_core, pytest-timeout, tqdm, ...),
                     for CPython X.Y on manylinux x86_64, with every dependency, so no index is needed later;
                     with --jupyter also nbgrader and what `nbgrader autograde` imports (not JupyterLab,
                     the notebook server's front ends, widgets, jedi or debugpy: autograde never loads them)
    carry/mnist/     MNIST's four gzipped IDX files (from $MNIST_ROOT, else ../shared/data/mnist)
    carry/bin/bwrap  bubblewrap, when this machine has it: a wrapper that runs carry/libexec/bwrap with the
                     libraries it links (carry/lib/, from `ldd`), so it runs where they are missing
    carry/manifest.json   what was carried, the sizes, and the Jupyter stack's size whether carried or not

The budget: the wheels under 60 MB, and carry/ with the working tree under the 64 MiB that travels to the
GPU machine. The Jupyter stack is measured every time; it is carried only with --jupyter and only if it fits.

`install` (there): pip-installs, with no index and no dependency resolution, each carried wheel whose
distribution is not installed yet (never torch, numpy or the CUDA libraries); `--kit ROOT` also makes the
checkout's `nnkit` importable without PYTHONPATH (an editable install, else a .pth file), because the sandbox
(bubblewrap) gives the probe and the kernel a cleared environment, without the PYTHONPATH that the rest of
`make gpu-check` runs with.

Standard library only: it runs with whatever Python the machine has.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import site
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

WHEELS_BUDGET_MB = 60          # the wheels, in MB (10**6 bytes)
TRAVEL_BUDGET_MIB = 64         # carry/ and the working tree together, in MiB: what a device run carries

# What the grading path imports beyond torch, numpy and pytest (nnkit/grading, nnkit/sandbox, nnkit/calibration.py,
# nnkit/variants.py, grader_tests/: checked by importing them all and listing the third-party modules loaded).
# Versions as pyproject.toml allows them. pytest is named only to hold it to pyproject's range where the
# machine lacks it: pytest-timeout needs it, and `install` leaves an installed pytest alone.
GRADING = ["nbformat>=5.10,<6", "fastjsonschema", "jsonschema>=4.18,<4.25", "jsonschema-specifications",
           "referencing", "rpds-py", "traitlets", "jupyter_core", "platformdirs", "pytest-timeout==2.*",
           "tqdm>=4.66,<5", "attrs", "typing_extensions", "pytest>=8,<9.2"]
# `nbgrader autograde` with nnkit's steps (nbgrader_config.py) and the sandboxed ipykernel; dask and
# distributed for `nnkit batch` (the LocalCluster of gpu_check's throughput part), as pyproject.toml allows.
JUPYTER = ["nbgrader==0.9.6", "nbclient>=0.10,<0.12", "nbconvert", "ipykernel", "jupyter_client", "pyzmq",
           "tornado", "sqlalchemy", "alembic", "dask>=2024.1", "distributed>=2024.1"]
# Required by those packages' metadata but never imported by an autograde (the formgrader's and JupyterLab's
# front ends, widgets, completion and the debugger): left out of the wheelhouse, and `install` uses --no-deps.
JUPYTER_LEFT_OUT = {"jupyterlab", "notebook", "jupyterlab-server", "babel", "jupyter-lsp", "notebook-shim",
                    "jupyter-builder", "widgetsnbextension", "jupyterlab-widgets", "ipywidgets", "json5",
                    "async-lru", "jedi", "parso", "debugpy", "setuptools"}
# Never installed from the wheelhouse: the GPU machine's own.
NEVER = re.compile(r"^(torch|torchvision|torchaudio|numpy|triton|nvidia-.*|cuda-.*)$")

MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
# The libraries every Linux has (bubblewrap's others are carried).
SYSTEM_LIBS = re.compile(r"^(linux-vdso|linux-gate|libc\.so|ld-linux|libdl\.so|libpthread\.so|librt\.so|libm\.so)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_name(path: Path) -> tuple[str, str]:
    """(normalised distribution name, version) from a wheel's file name."""
    name, version = path.name.split("-")[:2]
    return normalise(name), version


def _mb(n: int) -> float:
    return n / 1e6


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def pip_download(requirements: list[str], dest: Path, python_version: str) -> None:
    """`pip download` binary wheels for CPython `python_version` on manylinux x86_64, dependencies included."""
    abi = "cp" + python_version.replace(".", "")
    platforms = ["manylinux2014_x86_64", "manylinux1_x86_64"] + [f"manylinux_2_{n}_x86_64" for n in (5, 12, 17, 24, 26, 27, 28)]
    argv = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--only-binary=:all:",
            "--python-version", python_version, "--implementation", "cp", "--abi", abi, "--abi", "abi3", "--abi", "none",
            *[a for p in platforms for a in ("--platform", p)], "-d", str(dest), *requirements]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"pip download failed (exit {done.returncode}) for: {' '.join(requirements)}")


def _one_version(folder: Path) -> None:
    """Keep one wheel per distribution (the newest file pip saved), so an install never sees two."""
    seen: dict[str, Path] = {}
    for wheel in sorted(folder.glob("*.whl"), key=lambda p: p.stat().st_mtime):
        name = wheel_name(wheel)[0]
        if name in seen:
            seen[name].unlink()
        seen[name] = wheel


def copy_mnist(carry: Path) -> int:
    source = Path(os.environ.get("MNIST_ROOT") or Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")
    target = carry / "mnist"
    if target.exists():
        shutil.rmtree(target)
    found = [(source / f"{name}.gz") for name in MNIST_FILES]
    if not all(p.is_file() for p in found):
        print(f"MNIST: no four gzipped IDX files in {source}; carry/mnist left out (set MNIST_ROOT)")
        return 0
    target.mkdir(parents=True)
    for path in found:
        shutil.copy2(path, target / path.name)
    print(f"MNIST: {len(found)} files from {source} -> carry/mnist ({_mb(_size(target)):.1f} MB)")
    return _size(target)


WRAPPER = """#!/bin/sh
# bubblewrap, carried by `make wheelhouse` (nnkit/wheelhouse.py) with the libraries it links.
here=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/libexec/bwrap" "$@"
"""


def copy_bwrap(carry: Path) -> int:
    for folder in ("bin", "libexec", "lib"):
        shutil.rmtree(carry / folder, ignore_errors=True)
    found = shutil.which("bwrap")
    if not found:
        print("bubblewrap: not installed here (apt-get install bubblewrap); carry/bin/bwrap left out")
        return 0
    binary = Path(found).resolve()
    (carry / "libexec").mkdir(parents=True)
    (carry / "lib").mkdir()
    (carry / "bin").mkdir()
    shutil.copy2(binary, carry / "libexec" / "bwrap")
    libs = []
    ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    for line in ldd.splitlines():
        match = re.match(r"\s*(\S+)\s+=>\s+(/\S+)", line)
        if match and not SYSTEM_LIBS.match(match.group(1)):
            shutil.copy2(Path(match.group(2)).resolve(), carry / "lib" / match.group(1))
            libs.append(match.group(1))
    wrapper = carry / "bin" / "bwrap"
    wrapper.write_text(WRAPPER)
    wrapper.chmod(0o755)
    works = subprocess.run([str(wrapper), "--version"], capture_output=True, text=True)
    print(f"bubblewrap: {binary} -> carry/libexec/bwrap, with {', '.join(libs) or 'no other library'} in carry/lib "
          f"({_size(carry / 'libexec') / 1e3 + _size(carry / 'lib') / 1e3:.0f} kB); carry/bin/bwrap runs it: "
          f"{works.stdout.strip() or works.stderr.strip()}")
    return _size(carry / "libexec") + _size(carry / "lib") + _size(carry / "bin")


def working_tree_bytes(root: Path) -> int | None:
    """What a device run sends besides carry/: tracked files and untracked ones git does not ignore."""
    try:
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root,
                                capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return sum((root / name).stat().st_size for name in listed.decode().split("\0")
               if name and (root / name).is_file() and not (root / name).is_symlink())


def build(carry: Path, python_version: str, jupyter: bool) -> int:
    carry = carry.resolve()
    root = Path(__file__).resolve().parents[1]
    wheels = carry / "wheels"
    if wheels.exists():
        shutil.rmtree(wheels)
    wheels.mkdir(parents=True)
    print(f"Wheels for CPython {python_version}, manylinux x86_64, with pip {_pip_version()}:")
    pip_download(GRADING, wheels, python_version)
    _one_version(wheels)
    grading = {wheel_name(p)[0] for p in wheels.glob("*.whl")}
    grading_bytes = _size(wheels)
    print(f"  grading path: {len(grading)} wheels, {_mb(grading_bytes):.1f} MB")

    # The Jupyter stack, resolved together with the grading wheels (one version of each).
    with tempfile.TemporaryDirectory(prefix="nnkit-jupyter-wheels-") as tmp:
        pip_download(GRADING + JUPYTER, Path(tmp), python_version)
        _one_version(Path(tmp))
        everything = {wheel_name(p)[0]: p for p in Path(tmp).glob("*.whl")}
        kept = {n: p for n, p in everything.items() if n not in JUPYTER_LEFT_OUT}
        stack = {n: p for n, p in kept.items() if n not in grading}
        stack_bytes = sum(p.stat().st_size for p in stack.values())
        left_out = sorted(set(everything) - set(kept))
        print(f"  Jupyter stack for nbgrader autograde: {len(stack)} more wheels, {_mb(stack_bytes):.1f} MB "
              f"(left out, never imported by an autograde: {', '.join(left_out)}: "
              f"{_mb(sum(everything[n].stat().st_size for n in left_out)):.1f} MB)")
        mnist_bytes = copy_mnist(carry)
        bwrap_bytes = copy_bwrap(carry)
        tree = working_tree_bytes(root)
        others = mnist_bytes + bwrap_bytes + (tree or 0) + 4096
        fits_wheels = _mb(grading_bytes + stack_bytes) < WHEELS_BUDGET_MB
        fits_travel = (grading_bytes + stack_bytes + others) / 2**20 < TRAVEL_BUDGET_MIB
        fits = fits_wheels and fits_travel
        carried = jupyter and fits
        if carried:
            for name, path in kept.items():          # the joint resolution's versions of everything
                for old in wheels.glob("*.whl"):
                    if wheel_name(old)[0] == name and old.name != path.name:
                        old.unlink()
                shutil.copy2(path, wheels / path.name)
    if fits:
        jupyter_line = (f"the Jupyter stack ({_mb(stack_bytes):.1f} MB) "
                        + ("is carried" if carried else "would fit: `make wheelhouse-full` carries it"))
    else:
        jupyter_line = (f"the wheelhouse cannot carry the Jupyter stack within {WHEELS_BUDGET_MB} MB: "
                        f"{_mb(grading_bytes + stack_bytes):.0f} MB of wheels")
        if not fits_travel:
            jupyter_line += (f", {(grading_bytes + stack_bytes + others) / 2**20:.0f} MiB with MNIST, bubblewrap and "
                             f"the working tree, of the {TRAVEL_BUDGET_MIB} MiB a device run carries")
    wheels_bytes = _size(wheels)
    carry_bytes = _size(carry)
    manifest = {"built": datetime.now(timezone.utc).isoformat(timespec="seconds"), "python": python_version,
                "wheels": sorted(p.name for p in wheels.glob("*.whl")), "wheels_mb": round(_mb(wheels_bytes), 1),
                "jupyter": {"carried": carried, "fits": fits, "mb": round(_mb(stack_bytes), 1), "left_out": left_out,
                            "message": jupyter_line},
                "mnist": mnist_bytes > 0, "bwrap": bwrap_bytes > 0, "carry_mib": round(carry_bytes / 2**20, 1),
                "working_tree_mib": None if tree is None else round(tree / 2**20, 1)}
    (carry / "manifest.json").write_text(json.dumps(manifest, indent=1))
    carry_bytes = _size(carry)
    print(f"carry/: {_mb(carry_bytes):.1f} MB ({carry_bytes / 2**20:.1f} MiB): wheels {_mb(wheels_bytes):.1f} MB "
          f"({len(manifest['wheels'])}), MNIST {_mb(mnist_bytes):.1f} MB, bubblewrap {_mb(bwrap_bytes):.2f} MB")
    if tree is not None:
        print(f"with the working tree ({_mb(tree):.1f} MB) a device run carries {(carry_bytes + tree) / 2**20:.1f} MiB "
              f"of its {TRAVEL_BUDGET_MIB} MiB")
    print(jupyter_line[0].upper() + jupyter_line[1:])
    problems = []
    if _mb(wheels_bytes) >= WHEELS_BUDGET_MB:
        problems.append(f"the wheels take {_mb(wheels_bytes):.1f} MB, over {WHEELS_BUDGET_MB} MB")
    if (carry_bytes + (tree or 0)) / 2**20 >= TRAVEL_BUDGET_MIB:
        problems.append(f"carry/ and the working tree take {(carry_bytes + (tree or 0)) / 2**20:.1f} MiB, "
                        f"over {TRAVEL_BUDGET_MIB} MiB")
    for problem in problems:
        print(f"TOO LARGE: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _pip_version() -> str:
    done = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True)
    return done.stdout.split()[1] if done.returncode == 0 and len(done.stdout.split()) > 1 else "?"


def _installed() -> dict[str, str]:
    from importlib import metadata

    found = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            found.setdefault(normalise(name), dist.version)
    return found


def install(wheels: Path, kit: Path | None) -> int:
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_ROOT_USER_ACTION="ignore", PIP_NO_INPUT="1")
    status = 0
    if wheels.is_dir() and any(wheels.glob("*.whl")):
        installed = _installed()
        missing, there = [], []
        for wheel in sorted(wheels.glob("*.whl")):
            name, version = wheel_name(wheel)
            if NEVER.match(name):
                continue
            if name in installed:
                there.append(f"{name} {installed[name]}")
            else:
                missing.append(wheel)
        shown = ", ".join(there[:8]) + (f", ... ({len(there) - 8} more)" if len(there) > 8 else "")
        print(f"wheelhouse {wheels}: {len(there)} of its distributions already installed ({shown or 'none'})")
        if missing:
            print(f"installing {len(missing)}: {', '.join('-'.join(wheel_name(w)) for w in missing)}", flush=True)
            done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                                   "--find-links", str(wheels), *map(str, missing)], env=env)
            if done.returncode != 0:
                print(f"pip install from {wheels} failed (exit {done.returncode})", file=sys.stderr)
                status = 1
    else:
        print(f"no wheelhouse at {wheels} (make wheelhouse): using what this Python has")
    if kit is not None:
        status |= _install_kit(kit.resolve(), env)
    return status


def _install_kit(root: Path, env: dict) -> int:
    """Make `nnkit` importable from anywhere without PYTHONPATH (the sandbox clears the environment)."""
    bare = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    probe = [sys.executable, "-c", "import nnkit, sys; sys.stdout.write(nnkit.__path__[0])"]
    done = subprocess.run(probe, cwd="/", env=bare, capture_output=True, text=True)
    if done.returncode == 0:
        if Path(done.stdout).resolve() != root / "nnkit":
            print(f"note: this Python imports nnkit from {done.stdout}, not from {root}", file=sys.stderr)
        return 0
    print(f"installing the kit ({root}) into {sys.prefix}, editable and without dependencies, so that sandboxed "
          "processes import it too", flush=True)
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                           "--no-build-isolation", "--ignore-requires-python", "-e", str(root)], env=bare,
                          capture_output=True, text=True)
    if done.returncode != 0:
        # An older setuptools builds no editable wheel without the `wheel` package: a path file does the same.
        said = (done.stdout + done.stderr).strip().splitlines()
        target = Path(site.getsitepackages()[0]) / "nnkit-checkout.pth"
        print(f"the editable install failed (exit {done.returncode}: {said[-1] if said else '?'}); "
              f"writing {target} instead", flush=True)
        try:
            target.write_text(f"{root}\n")
        except OSError as error:
            print(f"could not write {target}: {error}", file=sys.stderr)
            return 1
    done = subprocess.run(probe, cwd="/", env=bare, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"nnkit is still not importable without PYTHONPATH: {done.stderr[-500:]}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnkit.wheelhouse", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="fill carry/ here (needs this machine's pip and its index)")
    p.add_argument("carry", type=Path)
    p.add_argument("--python-version", default="3.12")
    p.add_argument("--jupyter", action="store_true", help="carry the Jupyter stack too, if it fits")
    p = sub.add_parser("install", help="install the carried wheels that this Python lacks (no index)")
    p.add_argument("wheels", type=Path)
    p.add_argument("--kit", type=Path, help="the checkout: make its nnkit importable without PYTHONPATH")
    args = parser.parse_args(argv)
    if args.command == "build":
        return build(args.carry, args.python_version, args.jupyter)
    return install(args.wheels, args.kit)


if __name__ == "__main__":
    sys.exit(main())

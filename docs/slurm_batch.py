"""Grade a class on GPU nodes under Slurm: dask-jobqueue starts the Dask workers, `nnkit batch` sends the jobs.

    python docs/slurm_batch.py --course /shared/course --nodes 8 \
        --db-url postgresql+psycopg://grader@dbhost/gradebook [--partition gpu] [--walltime 04:00:00]

Each Slurm job is one GPU node slot (``--gres=gpu:1``) running one Dask worker that offers one
``gpu`` resource; every autograde job asks for it, so a worker grades one hand-in at a time on
its own GPU. The course folder, the virtual environment and MNIST must be on a file system the
nodes share, at the same paths; the gradebook must be PostgreSQL (several machines cannot share
SQLite). See docs/scale-out.md.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def gpu_cluster(venv: Path, mnist_root: Path, partition: str = "gpu", walltime: str = "04:00:00",
                cores: int = 4, memory: str = "32GB", account: str | None = None):
    """A dask-jobqueue SLURMCluster whose workers each hold one GPU (not started until scaled)."""
    from dask_jobqueue import SLURMCluster

    from nnkit.batch import quiet_dask_exports

    return SLURMCluster(
        queue=partition, account=account, walltime=walltime,
        cores=cores, processes=1, memory=memory,          # one worker per Slurm job
        job_extra_directives=["--gres=gpu:1"],            # ... holding one GPU
        worker_extra_args=["--resources", "gpu=1"],       # ... offered to Dask as one `gpu`
        job_script_prologue=[f"source {venv}/bin/activate", f"export MNIST_ROOT={mnist_root}",
                             "export OMP_NUM_THREADS=1", *quiet_dask_exports()],
    )


def main() -> int:
    from nnkit.batch import run_batch, summary
    from nnkit.grading.course import Course

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", type=Path, required=True, help="course folder, on a shared file system")
    parser.add_argument("--db-url", required=True, help="PostgreSQL gradebook, postgresql+psycopg://USER@HOST/DB")
    parser.add_argument("--nodes", type=int, default=4, help="Slurm jobs (GPU workers) to start")
    parser.add_argument("--partition", default="gpu")
    parser.add_argument("--walltime", default="04:00:00")
    parser.add_argument("--account")
    parser.add_argument("--mnist-root", type=Path, default=Path("/shared/data/mnist"))
    parser.add_argument("assignment", nargs="*")
    args = parser.parse_args()
    course = Course(args.course.resolve())
    cluster = gpu_cluster(course.root / ".venv", args.mnist_root, args.partition, args.walltime, account=args.account)
    cluster.scale(jobs=args.nodes)
    try:
        result = run_batch(course, args.assignment or None, scheduler=cluster.scheduler_address, db_url=args.db_url,
                           gpu=True, nbgrader_args=("--RunHiddenGraders.device=cuda",))
        print(summary(result))
    finally:
        cluster.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

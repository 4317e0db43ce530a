"""Two things every part of the kit that starts processes does: end a process group, and read the
end of a log it wrote."""
from __future__ import annotations

import os
import signal
from pathlib import Path


def kill_group(pid: int) -> None:
    """SIGKILL the process group `pid` leads: the process and whatever it started in its session
    (a student's code may fork). A group already gone, or not ours to signal, is left as it is."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def log_tail(path: Path, size: int) -> str:
    """The last `size` bytes of the file at `path`, as text (undecodable bytes replaced)."""
    path = Path(path)
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - size))
        return handle.read().decode("utf-8", "replace")

"""nbgrader's Execute, hardened for untrusted notebooks.

Plain nbgrader loses a student's whole submission when the kernel dies
(`os._exit`, a segfault, the memory limit) and keeps every byte a cell prints.
`SafeExecute`

* catches a dead kernel, writes what happened into the cell that killed it,
  and lets grading go on (the hidden graders do not need the kernel);
* keeps at most `max_output_bytes` of output per cell and says it cut the rest;
* stops when a cell keeps running after the interrupt that follows its
  timeout (code that catches KeyboardInterrupt): nbclient then gives up waiting
  for the kernel to go idle (``raise_on_iopub_timeout``, on in nbgrader) and
  plain nbgrader drops the student;
* treats a kernel that breaks in any other way like a dead one: a process
  flood makes the kernel's threads fail to start and nbclient then raises
  ``ValueError: Invalid Signature`` (or another error of its own) out of the
  executor, and plain nbgrader drops the student;
* records how execution ended in `resources["nnkit"]["execution"]`;
* skips experiment cells, which keep their handed-in outputs (nnkit/grading/experiments.py).
"""
from __future__ import annotations

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer

from nnkit.grading.experiments import is_experiment
from nnkit.grading.status import Status


class SafeExecute(Execute):
    max_output_bytes = Integer(1_000_000, help="Output kept per cell; the rest is dropped").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._bytes_per_cell: dict[int, int] = {}
        self._cut_cells: set[int] = set()
        self._current_cell = None
        status = {"status": Status.GRADED, "detail": ""}
        try:
            nb, resources = self._execute_starting_twice(nb, resources, km)
        except CellTimeoutError:
            status = {"status": Status.TIMED_OUT, "detail": "the kernel ignored the interrupt after a cell timed out"}
            self._explain("KernelIgnoredInterrupt", "the kernel kept running after a time-out",
                          "This cell ran past the time limit and kept running when it was interrupted (an endless "
                          "loop that catches KeyboardInterrupt or BaseException?).")
        except DeadKernelError as error:
            status = {"status": Status.CRASHED, "detail": f"the kernel died ({error})"}
            self._explain("KernelDied", "the kernel died while running this cell",
                          "The Python kernel died while running this cell (for example sys.exit, os._exit, a "
                          "crash, or running out of memory).")
        except Exception as error:  # noqa: BLE001 - any other break between nbclient and a broken kernel
            status = {"status": Status.CRASHED, "detail": f"the kernel broke ({type(error).__name__}: {error})"}
            self._explain("KernelBroke", "the kernel stopped answering while running this cell",
                          "The Python kernel stopped working properly while running this cell (for example after "
                          "starting too many processes or threads, or running out of memory).")
            self._shutdown_broken_kernel()
        for index in self._cut_cells:
            nb.cells[index].outputs.append(new_output(
                "stream", name="stdout", text=f"\n[output cut: this cell printed more than "
                                              f"{self.max_output_bytes // 1000} kB]\n"))
        if any(o.get("ename") == "CellTimeoutError" for c in nb.cells if c.cell_type == "code" for o in c.outputs):
            if status["status"] is Status.GRADED:
                status = {"status": Status.TIMED_OUT, "detail": "a cell ran past the time limit and was interrupted"}
        (resources if resources is not None else {}).setdefault("nnkit", {})["execution"] = status
        return nb, resources

    def _execute_starting_twice(self, nb, resources, km):
        """Run the notebook; a kernel that never answered before any cell ran is started once
        more. On a busy batch worker that is the machine's hiccup, not the student's crash."""
        try:
            return super().preprocess(nb, resources, km)
        except RuntimeError as error:
            if self._current_cell is not None or "didn't respond" not in str(error):
                raise
            self.log.warning("The kernel did not start (%s); starting it once more", error)
            self._shutdown_broken_kernel()
            return super().preprocess(nb, resources, km)

    def _shutdown_broken_kernel(self) -> None:
        """nbclient leaves a kernel it gave up on to its own clean-up; make sure it is gone."""
        km = getattr(self, "km", None)
        try:
            if km is not None and km.has_kernel:
                km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001 - it is already broken; the sandbox reaps what is left
            pass

    def preprocess_cell(self, cell, resources, index):
        if is_experiment(cell):
            return cell, resources
        self._current_cell = cell
        return super().preprocess_cell(cell, resources, index)

    def _explain(self, ename: str, evalue: str, what: str) -> None:
        """Say in the cell that stopped execution what happened, and what still counts."""
        if self._current_cell is not None:
            self._current_cell.outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=[
                what + " Cells after it did not run; the hidden tests still graded your solution cells."]))
    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = len(str(content.get("text", "")).encode()) + sum(len(str(v).encode()) for v in content.get("data", {}).values())
        used = self._bytes_per_cell.get(cell_index, 0) + size
        self._bytes_per_cell[cell_index] = used
        if used > self.max_output_bytes and msg["msg_type"] in ("stream", "display_data", "execute_result", "update_display_data"):
            self._cut_cells.add(cell_index)
            return None
        return super().output(outs, msg, display_id, cell_index)

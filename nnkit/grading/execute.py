"""nbgrader's Execute, hardened for untrusted notebooks.

Plain nbgrader loses a student's whole submission when the kernel dies
(`os._exit`, a segfault, the memory limit) and keeps every byte a cell prints.
`SafeExecute`

* catches a dead kernel, writes what happened into the cell that killed it,
  and lets grading go on (the hidden graders do not need the kernel);
* keeps at most `max_output_bytes` of output per cell and says it cut the rest;
* stops for good when the kernel ignores the interrupt that follows a cell
  timeout (code that catches KeyboardInterrupt): plain nbgrader would then
  wait out the timeout once more for every remaining cell;
* records how execution ended in `resources["nnkit"]["execution"]`.
"""
from __future__ import annotations

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer


class KernelIgnoredInterrupt(Exception):
    """A cell timed out, the kernel was interrupted, and the next cell timed out too."""


class SafeExecute(Execute):
    max_output_bytes = Integer(1_000_000, help="Output kept per cell; the rest is dropped").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._bytes_per_cell: dict[int, int] = {}
        self._cut_cells: set[int] = set()
        self._kernel_owes_reply = False
        self._current_cell = None
        status = {"status": "ok", "detail": ""}
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except (KernelIgnoredInterrupt, CellTimeoutError):
            # The interrupt after a timeout did not stop the student's code: the kernel
            # never went idle (nbclient's IOPub timeout) or never answered the next cell.
            status = {"status": "timed out", "detail": "the kernel ignored the interrupt after a cell timed out"}
            if self._current_cell is not None:
                self._current_cell.outputs.append(new_output(
                    "error", ename="KernelIgnoredInterrupt", evalue="the kernel kept running after a time-out",
                    traceback=["This cell ran past the time limit, or an earlier one did, and the code kept running "
                               "when it was interrupted (an endless loop that catches KeyboardInterrupt or "
                               "BaseException?). The cells after it did not run; the hidden tests still graded "
                               "your solution cells."]))
        except DeadKernelError as error:
            status = {"status": "crashed", "detail": f"the kernel died ({error})"}
            cell = self._cell_that_died(nb)
            if cell is not None:
                cell.outputs.append(new_output(
                    "error", ename="KernelDied", evalue="the kernel died while running this cell",
                    traceback=["The Python kernel died while running this cell (for example sys.exit, "
                               "os._exit, a crash, or running out of memory). Cells after it did not run; "
                               "the hidden tests still graded your solution cells."]))
        for index in self._cut_cells:
            nb.cells[index].outputs.append(new_output(
                "stream", name="stdout", text=f"\n[output cut: this cell printed more than "
                                              f"{self.max_output_bytes // 1000} kB]\n"))
        if any(o.get("ename") == "CellTimeoutError" for c in nb.cells if c.cell_type == "code" for o in c.outputs):
            if status["status"] == "ok":
                status = {"status": "timed out", "detail": "a cell ran past the time limit and was interrupted"}
        (resources if resources is not None else {}).setdefault("nnkit", {})["execution"] = status
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        self._current_cell = cell
        return super().preprocess_cell(cell, resources, index)

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        # A timed-out cell gets the configured error reply at once; the kernel's own
        # reply to it comes only if the interrupt stopped the student's code.
        self._kernel_owes_reply = kwargs["execute_reply"]["content"].get("ename") == "CellTimeoutError"

    async def _async_handle_timeout(self, timeout, cell=None):
        if self._kernel_owes_reply:
            raise KernelIgnoredInterrupt()
        return await super()._async_handle_timeout(timeout, cell)

    @staticmethod
    def _cell_that_died(nb):
        code = [c for c in nb.cells if c.cell_type == "code"]
        ran = [i for i, c in enumerate(code) if c.get("execution_count") or c.get("outputs")]
        following = (ran[-1] + 1) if ran else 0
        # The cell that was running when the kernel died may have printed before dying.
        if ran and not code[ran[-1]].get("execution_count"):
            following = ran[-1]
        return code[following] if following < len(code) else (code[-1] if code else None)

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = len(str(content.get("text", ""))) + sum(len(str(v)) for v in content.get("data", {}).values())
        used = self._bytes_per_cell.get(cell_index, 0) + size
        self._bytes_per_cell[cell_index] = used
        if used > self.max_output_bytes and msg["msg_type"] in ("stream", "display_data", "execute_result", "update_display_data"):
            self._cut_cells.add(cell_index)
            return None
        return super().output(outs, msg, display_id, cell_index)

"""SafeExecute (nnkit/grading/execute.py) on a real kernel, for the ways a kernel can break."""
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nnkit.grading.execute import SafeExecute
from nnkit.grading.status import Status

pytestmark = pytest.mark.check

KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}


def test_a_kernel_that_breaks_mid_notebook_is_crashed_not_lost(tmp_path, monkeypatch):
    """nbclient raising anything of its own (a process flood made the kernel's threads fail and
    nbclient raise `ValueError: Invalid Signature`) ends execution with status crashed, a note in the
    cell that broke, and the kernel shut down; plain nbgrader would drop the hand-in."""
    nb = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("y = 2"), new_code_cell("print(x + y)")],
                      metadata=KERNEL)
    original = SafeExecute.execute_cell

    def breaks_at_the_second_cell(self, cell, cell_index, *args, **kwargs):
        if cell_index == 1:
            raise ValueError("Invalid Signature")
        return original(self, cell, cell_index, *args, **kwargs)

    monkeypatch.setattr(SafeExecute, "execute_cell", breaks_at_the_second_cell)
    executor = SafeExecute(kernel_name="python3", timeout=60)
    nb, resources = executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    execution = resources["nnkit"]["execution"]
    assert execution["status"] == Status.CRASHED and "Invalid Signature" in execution["detail"]
    assert nb.cells[1].outputs[-1].ename == "KernelBroke"
    assert "stopped working properly" in nb.cells[1].outputs[-1].traceback[0]
    assert nb.cells[2].outputs == []                       # nothing ran after it
    assert executor.km is None or not executor.km.has_kernel

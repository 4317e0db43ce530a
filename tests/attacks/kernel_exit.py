"""sys.exit() in a solution cell, then os._exit() in a cell of its own: the kernel dies half-way."""
# plain: not probed (a dead kernel loses the submission in plain nbgrader)
# lost: -
# status: crashed
# feedback: kernel died
# %% broadcast +
import sys as _sys
if "ipykernel" in _sys.modules:
    _sys.exit(1)
# %% +after hidden_broadcast
import os
os._exit(3)

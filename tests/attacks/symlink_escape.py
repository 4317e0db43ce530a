"""Replaces .nnkit-status.json and the notebook in its (writable) autograded folder by symlinks to files in the course root, which the instructor-side steps then write through."""
# plain: not probed
# lost: -
# status: graded
# feedback:
# %% broadcast +
import os as _os
import sys as _sys
if "ipykernel" in _sys.modules:
    for _name, _target in ((".nnkit-status.json", "../../../canary_status.txt"),
                           ("learning_rates.ipynb", "../../../canary_notebook.txt")):
        try:
            if _os.path.lexists(_name):
                _os.remove(_name)
            _os.symlink(_target, _name)
        except OSError as _error:
            print("cannot link", _name, _error)

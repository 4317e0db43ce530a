"""A free cell that starts 300 `sleep 600` subprocesses (a process flood past the sandbox's pids limit), then goes on."""
# plain: not probed
# lost: -
# status: graded
# feedback: stopped after
# %% +after hidden_broadcast
import subprocess
sleepers = []
try:
    for _ in range(300):
        sleepers.append(subprocess.Popen(["sleep", "600"]))
except OSError as error:
    print("stopped after", len(sleepers), "processes:", type(error).__name__)
print("started", len(sleepers))

"""Three cells of its own: prints 100 MB, a bounded fork bomb (400 sleepers, more than the sandbox's 256 pids), a memory bomb (up to 16 GB asked for, over the 4 GB limit)."""
# plain: not probed
# lost: -
# status: graded
# feedback: output cut | MemoryError | BlockingIOError
# %% +after hidden_model
_line = "x" * (1 << 20)
for _ in range(100):
    print(_line)
# %% +after hidden_dataset
import os, time
children = 0
for _ in range(400):
    pid = os.fork()
    if pid == 0:
        time.sleep(5)
        os._exit(0)
    children += 1
print("forked", children)
# %% +after hidden_broadcast
def bomb():
    blocks = []
    for _ in range(64):                 # 16 GB of (untouched) zero pages at most
        blocks.append(bytes(256 << 20))
    return len(blocks)


print("allocated", bomb() * 256, "MB")

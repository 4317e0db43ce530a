"""Fakes a CUDA device: monkeypatches torch.cuda.is_available (and device_count) to say there is a GPU."""
# plain: not probed
# lost: -
# status: graded
# feedback:
# %% model +
torch.cuda.is_available = lambda: True
torch.cuda.device_count = lambda: 1

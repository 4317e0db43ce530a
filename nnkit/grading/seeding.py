"""Seed every generator a grader or a student's code may draw from: one function, run in the
checker and, by name, in the probe (`remote.Probe.seed`)."""
from __future__ import annotations

import random

import numpy as np
import torch

_manual_seed = torch.random.manual_seed   # taken at import: torch._dynamo may wrap torch.manual_seed later


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy, torch and every CUDA device."""
    random.seed(seed)
    np.random.seed(seed)
    _manual_seed(seed)   # seeds every CUDA device too, once CUDA is started (torch.random.manual_seed)

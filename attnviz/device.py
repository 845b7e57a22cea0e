"""Pick the fastest available torch device: CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import os

import torch


def best_device() -> torch.device:
    forced = os.environ.get("ATTNVIZ_DEVICE")
    if forced:
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")

"""Pick the fastest available torch device: CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import contextlib
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


def app_threads() -> int:
    """Intra-op threads for the app: half the cores (at least 1), or ATTNVIZ_TORCH_THREADS.

    The app shares the machine with the browser, the Streamlit server and other sessions; a torch
    that claims every core stalls badly once any of them is busy (on 2 cores a 20-token forward went
    from 14 ms to over 600 ms with one other busy process; benchmarks/capture_overhead.py shows it).
    """
    forced = os.environ.get("ATTNVIZ_TORCH_THREADS")
    if forced:
        return max(1, int(forced))
    return max(1, (os.cpu_count() or 2) // 2)


@contextlib.contextmanager
def torch_threads(n: int):
    """Inside the block, this thread's torch operations use ``n`` intra-op threads, then the count it had.

    PyTorch's OpenMP thread count belongs to the calling thread, so one page run can give its forward pass every
    core while the server's other threads keep theirs (a thread started meanwhile takes the count as its default).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(before)

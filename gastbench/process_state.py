"""Leaving the process as a call found it: the global random generators and torch's thread count.

Library calls that must seed (a random-init model, a training run) or set threads (a training
run's ``num_threads``) do it inside :func:`process_state_restored`, so a caller's own random
streams and thread settings are exactly what they were afterwards. BLAS thread counts are kept
by the CPU sessions of :mod:`gastbench.models._blas` (through threadpoolctl).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["process_state_restored", "seeded"]


@contextmanager
def process_state_restored(threads: int | None = None) -> Iterator[None]:
    """Restore torch's (CPU and initialised CUDA devices), numpy's and Python's global RNG and
    torch's thread count on exit; ``threads`` sets that count for the block."""
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    numpy_state, python_state, thread_count = np.random.get_state(), random.getstate(), torch.get_num_threads()
    with torch.random.fork_rng(devices=cuda):
        try:
            if threads is not None:
                torch.set_num_threads(threads)
            yield
        finally:
            np.random.set_state(numpy_state)
            random.setstate(python_state)
            if torch.get_num_threads() != thread_count:
                torch.set_num_threads(thread_count)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Every global generator (torch, numpy, Python) seeded with ``seed`` inside, restored outside."""
    with process_state_restored():
        torch.manual_seed(seed)
        np.random.seed(seed % (2**32))
        random.seed(seed)
        yield

"""The protocol runner: whole test sequences through a lifter, batched, then per-action metrics.

Seams: :mod:`~gastbench.evaluation.inference` (the chunked engine), :mod:`~.device`,
:mod:`~.protocol` (options, conventions, the stride rule), :mod:`~.aggregate` (rows of the
record), :mod:`~.predictions` (saving them) and :mod:`~.runner` (``evaluate``).
"""

from __future__ import annotations

from .device import resolve_device
from .inference import auto_chunking, predict_sequences
from .protocol import EvalOptions, ResolvedProtocol, resolve_protocol
from .runner import evaluate

__all__ = ["EvalOptions", "ResolvedProtocol", "auto_chunking", "evaluate", "predict_sequences", "resolve_device", "resolve_protocol"]

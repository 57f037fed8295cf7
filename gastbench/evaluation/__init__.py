"""The protocol runner: test sequences through a lifter in large batched forwards, scored one sequence at a time.

Seams: :mod:`~gastbench.evaluation.inference` (the chunked engine, streaming sequences out as
they are lifted), :mod:`~.clips` (sequence-to-sequence lifters: clips, every frame once),
:mod:`~.scale25d` (a 2.5D model's output to metres), :mod:`~.device`, :mod:`~.protocol` (options, conventions, the stride rule),
:mod:`~.aggregate` (running rows of the record), :mod:`~.predictions` (writing them per
sequence) and :mod:`~.runner` (``evaluate``). Memory does not grow with the number of sequences.
"""

from __future__ import annotations

from .clips import iter_clip_predictions, plan_clips
from .device import resolve_device
from .inference import auto_chunking, iter_predictions, predict_sequences
from .protocol import EvalOptions, ResolvedProtocol, resolve_protocol
from .runner import evaluate

__all__ = [
    "EvalOptions",
    "ResolvedProtocol",
    "auto_chunking",
    "evaluate",
    "iter_clip_predictions",
    "iter_predictions",
    "plan_clips",
    "predict_sequences",
    "resolve_device",
    "resolve_protocol",
]

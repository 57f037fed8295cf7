"""Checkpoint files, the lowest weights layer: hashing, strict safetensors I/O, mismatch reports.

The original repositories' pickled checkpoints are read by :mod:`gastbench.checkpoint.unpickle`
(a restricted unpickler of our own), imported explicitly where a conversion needs it.
"""

from __future__ import annotations

from .files import (
    SafetensorsHeader,
    file_sha256,
    load_safetensors_strict,
    load_state_dict_strict,
    read_safetensors_header,
    save_safetensors,
    state_dict_mismatches,
)

__all__ = [
    "SafetensorsHeader",
    "read_safetensors_header",
    "file_sha256",
    "load_safetensors_strict",
    "load_state_dict_strict",
    "save_safetensors",
    "state_dict_mismatches",
]

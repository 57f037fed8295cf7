"""Weights files on disk: hashing, byte-deterministic safetensors writing, strict loading.

Only safetensors are ever loaded here, so a weights file cannot run code. torch and
safetensors are imported inside the functions that need them, so that card and Hub
code can hash files without importing torch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import WeightsError, not_a_file
from ..hashing import file_sha256

if TYPE_CHECKING:
    import torch

    from ..lifter import Lifter

__all__ = [
    "SafetensorsHeader",
    "file_sha256",
    "read_safetensors_header",
    "load_safetensors_strict",
    "load_state_dict_strict",
    "save_safetensors",
    "state_dict_mismatches",
]


@dataclass(frozen=True)
class SafetensorsHeader:
    """What a safetensors file says about itself without loading a tensor: metadata and shapes."""

    metadata: dict[str, str]
    shapes: dict[str, tuple[int, ...]]

    def meta_tensors(self) -> dict[str, torch.Tensor]:
        """Empty ``meta``-device tensors of the file's shapes, for :func:`state_dict_mismatches`."""
        import torch

        return {key: torch.empty(shape, device="meta") for key, shape in self.shapes.items()}


def read_safetensors_header(path: str | Path) -> SafetensorsHeader:
    """The header of a safetensors file; :class:`WeightsError` when it is missing or not one."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} {not_a_file(path)}")
    try:
        with safe_open(str(path), "pt") as handle:
            shapes = {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
            return SafetensorsHeader(dict(handle.metadata() or {}), shapes)
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"weights file {path} is not a readable safetensors file: {exc}") from None


def save_safetensors(
    tensors: Mapping[str, torch.Tensor], path: str | Path, metadata: Mapping[str, str] | None = None
) -> str:
    """Write ``tensors`` to ``path`` as safetensors; the same tensors and metadata give the same bytes.

    safetensors writes its metadata in hash-map order, which differs between processes; the
    header is rewritten here with sorted metadata keys and tensors in file order, so a file's
    sha256 is a function of its content. Written atomically; returns the file's sha256.
    """
    from safetensors.torch import save

    raw = save(dict(tensors), metadata=dict(metadata) if metadata else None)
    size = int.from_bytes(raw[:8], "little")
    header: dict[str, Any] = json.loads(raw[8 : 8 + size])
    ordered: dict[str, Any] = {}
    meta = header.pop("__metadata__", None)
    if meta:
        ordered["__metadata__"] = dict(sorted(meta.items()))
    ordered.update(sorted(header.items(), key=lambda item: tuple(item[1]["data_offsets"])))
    text = json.dumps(ordered, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the format aligns the data section to 8 bytes
    from ..outputs import replacing

    path = Path(path)
    with replacing(path, "wb") as handle:
        handle.write(len(text).to_bytes(8, "little"))
        handle.write(text)
        handle.write(raw[8 + size :])
    return file_sha256(path)


def load_safetensors_strict(lifter: Lifter, path: str | Path) -> str:
    """Load a safetensors file into ``lifter`` strictly; return the file's sha256.

    Every tensor must be used and every parameter filled, with matching shapes; the
    error lists what does not fit instead of torch's traceback.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} {not_a_file(path)}")
    if path.suffix != ".safetensors":
        raise WeightsError(
            f"weights file {path}: only .safetensors is loaded (pickled checkpoints can run code); "
            "convert an original checkpoint with `gastbench convert`"
        )
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"weights file {path} is not a readable safetensors file: {exc}") from None
    load_state_dict_strict(lifter, tensors, origin=str(path))
    return file_sha256(path)


def state_dict_mismatches(
    expected: Mapping[str, torch.Tensor], tensors: Mapping[str, torch.Tensor], source: str = "file"
) -> list[str]:
    """Readable differences between a model's state dict and ``tensors``: missing, extra, wrong shape.

    Empty when every key is present with the right shape; ``source`` names the other side
    ("file", "checkpoint") in the messages.
    """
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong_shape = [
        f"{key}: {source} {tuple(tensors[key].shape)} vs model {tuple(expected[key].shape)}"
        for key in sorted(set(expected) & set(tensors))
        if tensors[key].shape != expected[key].shape
    ]
    parts = []
    if unexpected:
        parts.append(f"{len(unexpected)} unmatched {source} key(s): {_preview(unexpected)}")
    if missing:
        parts.append(f"{len(missing)} model key(s) missing from the {source}: {_preview(missing)}")
    if wrong_shape:
        parts.append(f"{len(wrong_shape)} shape mismatch(es): {_preview(wrong_shape)}")
    return parts


def load_state_dict_strict(lifter: Lifter, tensors: Mapping[str, torch.Tensor], origin: str) -> None:
    """Copy ``tensors`` into ``lifter``, raising one readable error for any mismatch."""
    problems = state_dict_mismatches(lifter.state_dict(), tensors)
    if problems:
        raise WeightsError(
            f"weights {origin} do not fit {lifter.name or type(lifter).__name__} "
            f"(layout {lifter.input_layout.name!r}, RF {lifter.receptive_field}): " + "; ".join(problems)
        )
    lifter.load_state_dict(dict(tensors), strict=True)


def _preview(items: list[str], limit: int = 6) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")

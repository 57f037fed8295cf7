"""Where a lifter's weights come from: the one function every command goes through.

Order of precedence: an explicit local file (``--weights``), an untrained model
(``--random-init``, for pipeline checks), else the zoo card for the model, dataset and
2D input, fetched from the Hub (or a local mirror) and verified by sha256.
Only safetensors are ever loaded, so a weights file cannot run code.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from .errors import WeightsError
from .lifter import Lifter
from .registry import create_lifter
from .skeleton import Skeleton

__all__ = [
    "WeightsInfo",
    "file_sha256",
    "load_pretrained",
    "load_state_dict_strict",
    "load_weights_file",
    "resolve_lifter",
    "state_dict_mismatches",
]

WeightsSource = Literal["random-init", "file", "hub"]


@dataclass(frozen=True)
class WeightsInfo:
    """Provenance of the weights a result was computed with (stored in every record)."""

    source: WeightsSource
    path: str | None = None
    sha256: str | None = None
    card: str | None = None
    repo_id: str | None = None
    revision: str | None = None
    seed: int | None = None
    #: Frame stride of the video the weights were trained on (the recipe's ``downsample``),
    #: when the card or the training run says so; the evaluator feeds the same stride.
    train_stride: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def load_weights_file(lifter: Lifter, path: str | Path) -> str:
    """Load a safetensors file into ``lifter`` strictly; return the file's sha256.

    Every tensor must be used and every parameter filled, with matching shapes; the
    error lists what does not fit instead of torch's traceback.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
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
    expected: dict[str, torch.Tensor], tensors: dict[str, torch.Tensor], source: str = "file"
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


def load_state_dict_strict(lifter: Lifter, tensors: dict[str, torch.Tensor], origin: str) -> None:
    """Copy ``tensors`` into ``lifter``, raising one readable error for any mismatch."""
    problems = state_dict_mismatches(lifter.state_dict(), tensors)
    if problems:
        raise WeightsError(
            f"weights {origin} do not fit {lifter.name or type(lifter).__name__} "
            f"(layout {lifter.input_layout.name!r}, RF {lifter.receptive_field}): " + "; ".join(problems)
        )
    lifter.load_state_dict(tensors, strict=True)


def _preview(items: list[str], limit: int = 6) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")


def resolve_lifter(
    name: str,
    *,
    dataset: str,
    input: str,
    layout: str | Skeleton | None = None,
    weights: str | Path | None = None,
    random_init: bool = False,
    seed: int = 0,
    offline: bool = False,
    **overrides: Any,
) -> tuple[Lifter, WeightsInfo]:
    """Build ``name`` for ``layout`` and give it weights; return the model and their provenance."""
    if weights is not None and random_init:
        raise WeightsError("choose either --weights or --random-init, not both")
    # Seeding before construction makes a random-init model (and dropout masks) reproducible.
    torch.manual_seed(seed)
    lifter = create_lifter(name, layout=layout, **overrides)
    if random_init:
        return lifter, WeightsInfo(source="random-init", seed=seed)
    if weights is not None:
        sha = load_weights_file(lifter, weights)
        return lifter, WeightsInfo(
            source="file", path=str(Path(weights).resolve()), sha256=sha, train_stride=_run_folder_stride(Path(weights))
        )
    return lifter, load_pretrained(lifter, name, dataset=dataset, input=input, offline=offline)


def load_pretrained(
    lifter: Lifter, name: str, *, dataset: str | None, input: str | None, offline: bool = False
) -> WeightsInfo:
    """Load the zoo card's verified weights for ``name`` on ``dataset``/``input`` into ``lifter``."""
    from .hub import fetch_weights  # the Hub client is imported only when weights are fetched
    from .zoo import find_card

    card = find_card(name, dataset=dataset, input=input)
    path = fetch_weights(card, offline=offline)
    sha = load_weights_file(lifter, path)
    return WeightsInfo(
        source="hub",
        path=str(path),
        sha256=sha,
        card=card.id,
        repo_id=card.repo_id,
        revision=card.revision,
        train_stride=_stride(card.recipe.get("downsample")),
    )


def _run_folder_stride(weights: Path) -> int | None:
    """The ``downsample`` of the training run that wrote ``weights`` (its ``config.json`` beside it), if any."""
    import json

    config = weights.parent / "config.json"
    if not config.is_file():
        return None
    try:
        stride = json.loads(config.read_text(encoding="utf-8")).get("downsample")
    except (OSError, ValueError, AttributeError):
        return None  # not a gastbench run folder: nothing to infer
    return _stride(stride)


def _stride(value: object) -> int | None:
    """A recipe's ``downsample`` as a frame stride; anything but a positive int says nothing."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None

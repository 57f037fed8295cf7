"""What a zoo card is: plain, validated data (no torch, no registry).

A card names the lifter and the layout, dataset and 2D input it was trained for, where its
weights live on the Hub (repo id, filename, pinned 40-hex revision) and how to verify them
(sha256, size), its licence, training recipe and command, the numbers its paper reports, and
what it takes to use the weights (:class:`EvalPreset`). A card has one of three statuses:

- ``unpublished``: no weights exist yet (hash, size and revision stay empty: never invented);
- ``local``: weights were trained and hashed (sha256, size) but are not on the Hub yet;
- ``published``: the weights are on the Hub at a pinned revision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..model_id import card_id
from ..recipes import effective_recipe

__all__ = ["STATUSES", "Card", "EvalPreset", "Reported", "validate_card"]

STATUSES = ("unpublished", "local", "published")
_HEX40 = re.compile(r"[0-9a-f]{40}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"[a-z0-9][a-z0-9_-]*\.[a-z0-9][a-z0-9_]*-[a-z0-9][a-z0-9_]*")
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class EvalPreset:
    """What evaluating a set of weights needs to know about how they were trained.

    ``train_stride``: the frame stride of the video the weights were trained on (GAST-Net's
    Human3.6M recipe: 5, i.e. 10 fps); the evaluator feeds video at that stride. None: unknown.
    """

    train_stride: int | None = None

    @classmethod
    def from_recipe(cls, recipe: Mapping[str, Any]) -> EvalPreset:
        """The preset of a training recipe or run config (its ``train_stride``)."""
        value = recipe.get("train_stride")
        valid = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        return cls(train_stride=value if valid else None)


@dataclass(frozen=True)
class Reported:
    """Numbers a paper reports for this model (millimetres), kept beside their source.

    ``actions`` and the per-action lists ``p1``/``p2`` are aligned; either list may be empty
    when the paper gives only averages. HumanEva rows name ``"<Action>/<Subject>"``.
    """

    source: str
    actions: tuple[str, ...] = ()
    p1: tuple[float, ...] = ()
    p2: tuple[float, ...] = ()
    p1_avg: float | None = None
    p2_avg: float | None = None
    params_m: float | None = None
    note: str = ""

    def avg(self, protocol: int) -> float | None:
        return {1: self.p1_avg, 2: self.p2_avg}.get(protocol)

    def per_action(self, protocol: int) -> dict[str, float]:
        values = {1: self.p1, 2: self.p2}.get(protocol, ())
        return dict(zip(self.actions, values)) if values else {}


@dataclass(frozen=True)
class Card:
    """One published (or planned) checkpoint. See the module docstring for the statuses."""

    id: str
    lifter: str
    layout: str
    dataset: str
    input: str
    status: str
    repo_id: str
    filename: str
    revision: str = ""
    sha256: str = ""
    size: int = 0
    license: str = ""
    params: int = 0
    receptive_field: int = 0
    description: str = ""
    command: str = ""
    recipe: dict[str, Any] = field(default_factory=dict)
    reported: Reported | None = None
    path: Path | None = field(default=None, compare=False)

    @property
    def has_weights(self) -> bool:
        """True once a weights file with a known hash exists (``local`` or ``published``)."""
        return self.status != "unpublished"

    @property
    def preset(self) -> EvalPreset:
        """What using these weights takes (their training frame stride), from the recipe the card names."""
        if not self.recipe:
            return EvalPreset()
        where = f"zoo card {self.path or self.id}"
        return EvalPreset.from_recipe(effective_recipe(self.recipe, where))

    def unavailable_message(self) -> str:
        """What to do when this card's weights cannot be used yet (the conversion hint is added where the
        registry is known: :func:`gastbench.pretrained.weights_unavailable`)."""
        train = self.command or f"gastbench train {self.lifter} --dataset {self.dataset} --input {self.input}"
        return (
            f"zoo card {self.id!r} has no published weights yet (status {self.status!r}); train it with "
            f"`{train}`, then pass `--weights OUT.safetensors`"
        )


def validate_card(card: Card) -> None:
    """Check the cross-field rules of a card; :class:`ConfigError` naming the file and key."""
    where = f"zoo card {card.path}" if card.path is not None else f"zoo card {card.id!r}"
    if not _ID.fullmatch(card.id):
        raise ConfigError(f"{where}: id {card.id!r} must look like '<lifter>.<dataset>-<input>' (lowercase)")
    expected_id = card_id(card.lifter, card.dataset, card.input)
    if card.id != expected_id:
        raise ConfigError(f"{where}: id {card.id!r} does not match lifter/dataset/input (expected {expected_id!r})")
    if card.path is not None and card.path.stem != card.id:
        raise ConfigError(f"{where}: file name must be the id ({card.id}.toml)")
    if card.status not in STATUSES:
        raise ConfigError(f"{where}: status {card.status!r} is not one of {', '.join(STATUSES)}")
    if not _REPO_ID.fullmatch(card.repo_id):
        raise ConfigError(f"{where}: repo_id {card.repo_id!r} must be 'owner/name'")
    if not card.filename.endswith(".safetensors") or card.filename.startswith("/"):
        raise ConfigError(f"{where}: filename {card.filename!r} must be a .safetensors file")
    if ".." in Path(card.filename).parts:
        raise ConfigError(f"{where}: filename {card.filename!r} must not contain '..'")
    if card.status == "unpublished":
        # Real results only: a card without weights must not carry a made-up hash or revision.
        filled = [k for k in ("revision", "sha256") if getattr(card, k)] + (["size"] if card.size else [])
        if filled:
            raise ConfigError(
                f"{where}: status 'unpublished' but {filled} are set; leave them empty until weights exist"
            )
    else:
        if not _HEX64.fullmatch(card.sha256):
            raise ConfigError(
                f"{where}: status {card.status!r} needs sha256 = 64 lowercase hex digits, got {card.sha256!r}"
            )
        if card.size <= 0:
            raise ConfigError(f"{where}: status {card.status!r} needs size = the weights file size in bytes")
    if card.status == "published" and not _HEX40.fullmatch(card.revision):
        raise ConfigError(
            f"{where}: status 'published' needs revision = a 40-hex commit id (a branch name is not pinned), "
            f"got {card.revision!r}"
        )
    if card.status == "local" and card.revision:
        raise ConfigError(f"{where}: status 'local' must not have a revision (set status = 'published')")

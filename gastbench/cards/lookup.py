"""Finding cards: the zoo folders, every card in them, the card for a model and its data."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import ConfigError, WeightsError
from ..model_id import ModelId, card_id, parse_model_id
from .io import load_card
from .schema import Card

__all__ = [
    "ZOO_DIR_ENV",
    "ZOO_ENTRY_POINT_GROUP",
    "ModelId",
    "card_id",
    "find_card",
    "load_cards",
    "parse_model_id",
    "plugin_zoo_dirs",
    "zoo_dirs",
]

ZOO_DIR_ENV = "GASTBENCH_ZOO_DIR"
#: Entry-point group through which an installed package ships its own cards: the value names a
#: package (a folder of ``*.toml`` cards, optionally ``results/``), e.g. ``tmlp = "gastbench_tmlp.zoo"``.
ZOO_ENTRY_POINT_GROUP = "gastbench.zoo"


def plugin_zoo_dirs() -> list[Path]:
    """The card folders installed packages declare in the ``gastbench.zoo`` entry-point group.

    A folder that cannot be found is a warning, so one broken package does not hide every card.
    """
    import importlib.util
    import warnings
    from importlib.metadata import entry_points

    found: list[Path] = []
    own_first = sorted(
        entry_points(group=ZOO_ENTRY_POINT_GROUP), key=lambda ep: (_distribution(ep) != "gastbench", ep.name)
    )
    for ep in own_first:
        # Locate the top-level package without importing it (no torch for `gastbench zoo`), then descend.
        top, *rest = ep.module.split(".")
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            spec = None
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        folder = Path(locations[0]).joinpath(*rest) if locations else None
        if folder is None or not folder.is_dir():
            warnings.warn(
                f"gastbench: zoo entry point {ep.name!r} ({ep.value}) names no installed folder", stacklevel=2
            )
            continue
        found.append(folder)
    return found


def _distribution(ep: object) -> str:
    return str(getattr(getattr(ep, "dist", None), "name", "") or "")


def zoo_dirs() -> list[Path]:
    """Card folders: ``$GASTBENCH_ZOO_DIR`` (``os.pathsep``-separated), then those installed packages ship
    through the ``gastbench.zoo`` entry-point group: gastbench's own zoo (package ``gastbench_zoo``) first."""
    extra = [Path(p) for p in os.environ.get(ZOO_DIR_ENV, "").split(os.pathsep) if p.strip()]
    dirs = [*extra, *plugin_zoo_dirs()]
    unique: list[Path] = []
    for d in dirs:
        if d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def load_cards(dirs: Iterable[str | Path] | None = None) -> list[Card]:
    """Every card in ``dirs`` (default :func:`zoo_dirs`), sorted by id; duplicate ids are an error."""
    cards: dict[str, Card] = {}
    for folder in zoo_dirs() if dirs is None else [Path(d) for d in dirs]:
        if not folder.is_dir():
            continue
        for file in sorted(folder.glob("*.toml")):
            card = load_card(file)
            if card.id in cards:
                raise ConfigError(f"zoo card id {card.id!r} is defined twice: {cards[card.id].path} and {file}")
            cards[card.id] = card
    return sorted(cards.values(), key=lambda c: c.id)


def find_card(
    name: str,
    dataset: str | None = None,
    input: str | None = None,
    *,
    require_weights: bool = True,
    cards: list[Card] | None = None,
) -> Card:
    """The card for lifter ``name`` (or id ``arch.tag``) on ``dataset``/``input``.

    Raises :class:`ConfigError` for an unknown model or input (with the alternatives) or an
    ambiguous choice, and :class:`WeightsError` if ``require_weights`` and the card has no
    weights yet, saying how to get some.
    """
    cards = load_cards() if cards is None else cards
    by_id = {c.id: c for c in cards}
    if name in by_id:
        card = by_id[name]
        for key, wanted in (("dataset", dataset), ("input", input)):
            if wanted is not None and getattr(card, key) != wanted:
                raise ConfigError(
                    f"zoo card {card.id!r} is for {key} {getattr(card, key)!r}, not {wanted!r}; "
                    f"drop the tag or the --{key} option"
                )
        return _check_weights(card, require_weights)
    parsed = parse_model_id(name, strict=True)
    lifter, dataset, input = parsed.lifter, dataset or parsed.dataset, input or parsed.input
    mine = [c for c in cards if c.lifter == lifter]
    if not mine:
        known = sorted({c.lifter for c in cards} | set(by_id))
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"no zoo card for model {name!r}{hint} (`gastbench zoo` lists the cards)")
    chosen = [c for c in mine if (dataset is None or c.dataset == dataset) and (input is None or c.input == input)]
    if not chosen:
        options = ", ".join(f"{c.dataset}/{c.input}" for c in mine)
        raise ConfigError(
            f"no zoo card for {lifter!r} on dataset {dataset or '*'!r} with input {input or '*'!r}; "
            f"cards for {lifter!r} exist for: {options}"
        )
    if len(chosen) > 1:
        options = ", ".join(c.id for c in chosen)
        raise ConfigError(f"{lifter!r} has several zoo cards ({options}); choose one with --dataset and --input")
    return _check_weights(chosen[0], require_weights)


def _check_weights(card: Card, require_weights: bool) -> Card:
    if require_weights and not card.has_weights:
        raise WeightsError(card.unavailable_message())
    return card

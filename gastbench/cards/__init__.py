"""Zoo cards: one small TOML file per checkpoint, the single source of a model's metadata.

Pure data (no torch, no registry): :mod:`~gastbench.cards.schema` says what a card is,
:mod:`~gastbench.cards.io` reads and writes the files, :mod:`~gastbench.cards.lookup` finds
them. Documentation tables and the leaderboard are generated from cards, never typed twice.
Card ids follow timm's ``arch.tag`` (:mod:`gastbench.model_id`).
"""

from __future__ import annotations

from .io import card_from_dict, card_to_dict, dumps_card, load_card, write_card
from .lookup import (
    ZOO_DIR_ENV,
    ZOO_ENTRY_POINT_GROUP,
    ModelId,
    card_id,
    find_card,
    load_cards,
    parse_model_id,
    plugin_zoo_dirs,
    zoo_dirs,
)
from .schema import STATUSES, Card, EvalPreset, Reported, validate_card

__all__ = [
    "STATUSES",
    "ZOO_DIR_ENV",
    "Card",
    "EvalPreset",
    "ModelId",
    "Reported",
    "card_from_dict",
    "card_id",
    "card_to_dict",
    "dumps_card",
    "find_card",
    "load_card",
    "load_cards",
    "parse_model_id",
    "validate_card",
    "write_card",
    "zoo_dirs",
    "plugin_zoo_dirs",
    "ZOO_ENTRY_POINT_GROUP",
]

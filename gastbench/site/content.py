"""What the site shows, gathered once: cards, measured records and one leaderboard per dataset x 2D input
x protocol, read and filtered exactly as ``gastbench leaderboard`` reads them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..cards import Card, card_id, load_cards, zoo_dirs
from ..leaderboard import Leaderboard, collect_measured, leaderboard_table, reported_records
from ..results import EvalResult
from .html import slug
from .model_facts import ModelCatalog, ModelFacts

__all__ = ["PROTOCOL_NAMES", "Board", "SiteContent", "gather", "record_file", "row_anchor"]

PROTOCOL_NAMES = {1: "Protocol #1 (MPJPE, mm)", 2: "Protocol #2 (P-MPJPE, mm)"}
#: Display names of the datasets the zoo covers (any other dataset shows its own name).
DATASET_NAMES = {"h36m": "Human3.6M", "humaneva": "HumanEva-I", "synthetic": "synthetic (not a benchmark)"}


def record_file(record: EvalResult) -> str:
    """Where the site keeps its copy of a measured record: a name from its contents, so reruns agree."""
    text = json.dumps(record.to_dict(), sort_keys=True)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    stem = slug(f"{record.model}_{record.dataset}-{record.input}_{record.protocol.convention}_{digest}")
    return f"records/{stem}.json"


def row_anchor(record: EvalResult) -> str:
    """The id of a record's row on its leaderboard page (card pages link to it)."""
    if record.reported:
        return "row-reported-" + slug(card_id(record.model, record.dataset, record.input))
    return "row-" + Path(record_file(record)).stem


@dataclass
class Board:
    """One leaderboard page: a dataset, a 2D input and a protocol."""

    dataset: str
    input: str
    protocol: int
    table: Leaderboard

    @property
    def file(self) -> str:
        return f"leaderboard-{slug(self.dataset)}-{slug(self.input)}-p{self.protocol}.html"

    @property
    def title(self) -> str:
        name = DATASET_NAMES.get(self.dataset, self.dataset)
        return f"{name} · 2D input {self.input} · {PROTOCOL_NAMES[self.protocol]}"


@dataclass
class SiteContent:
    cards: list[Card]
    measured: list[EvalResult]
    boards: list[Board]
    catalog: ModelCatalog
    warnings: list[str] = field(default_factory=list)
    inputs: list[Path] = field(default_factory=list)
    include_partial: bool = False
    #: folders the records were read from (recursively): the site may not be written inside one
    record_folders: list[Path] = field(default_factory=list)

    @property
    def cards_by_id(self) -> dict[str, Card]:
        return {c.id: c for c in self.cards}

    def card_for(self, record: EvalResult) -> Card | None:
        """The card a row stands for: the one its weights name, else the one for its model and data."""
        by_id = self.cards_by_id
        named = (record.weights or {}).get("card")
        if isinstance(named, str) and named in by_id:
            return by_id[named]
        return by_id.get(card_id(record.model, record.dataset, record.input))

    def cites(self, record: EvalResult, card: Card) -> bool:
        """Whether a measured record was computed with this card's weights (by name or by hash)."""
        weights = record.weights or {}
        return weights.get("card") == card.id or (bool(card.sha256) and weights.get("sha256") == card.sha256)

    def facts_for(self, record: EvalResult) -> ModelFacts:
        card = self.card_for(record)
        layout = self.catalog.layout_for(record.model, record.dataset, card.layout if card else None)
        return self.catalog.facts(record.model, layout)

    def boards_with(self, card: Card) -> list[Board]:
        return [b for b in self.boards if b.dataset == card.dataset and b.input == card.input]


def _result_folders(runs_dirs: Iterable[Path]) -> list[Path]:
    return [*(d / "results" for d in zoo_dirs()), *runs_dirs]


def gather(
    runs_dirs: Iterable[str | Path] = (), cards: list[Card] | None = None, include_partial: bool = False
) -> SiteContent:
    """Read every record and card once, then build each dataset x input x protocol leaderboard."""
    runs = [Path(d) for d in runs_dirs]
    cards = load_cards() if cards is None else cards
    folders = _result_folders(runs)
    measured, warnings = collect_measured(folders, include_partial=include_partial)
    reported = reported_records(cards)
    combos = sorted({(r.dataset, r.input) for r in [*measured, *reported]})
    boards: list[Board] = []
    for dataset, input in combos:
        for protocol in PROTOCOL_NAMES:
            table = leaderboard_table(dataset, input, protocol, runs, cards, include_partial=include_partial)
            if table.records:
                boards.append(Board(dataset, input, protocol, table))
    inputs = [p for f in folders if f.is_dir() for p in f.rglob("*.json")]
    inputs += [c.path for c in cards if c.path is not None]
    read = [f for f in folders if f.is_dir()]
    return SiteContent(cards, measured, boards, ModelCatalog(), warnings, inputs, include_partial, read)

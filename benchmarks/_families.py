"""What the per-family benchmarks share: which models stand for the registry, their data, the table.

The models: the yardstick (videopose3d-t243, whose 1024-channel convolutions run at this CPU's
GEMM rate), then one model per architecture in the registry, plugins included. Registered names
that differ only by receptive field (``-t27``) or causality (``-causal``) are one architecture;
it is represented by its member with the most zoo cards (the configurations people evaluate),
ties to the smaller receptive field. A model whose optional requirements are not installed
(PoseFormer without timm) is listed as skipped, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gastbench.cards import load_cards
from gastbench.registry import get_lifter_spec, list_lifters, load_plugins
from gastbench.revision import code_revision

__all__ = ["YARDSTICK", "Row", "commit_label", "default_models", "missing_requirements", "model_keypoints", "render"]

YARDSTICK = "videopose3d-t243"
_VARIANT = re.compile(r"(-t\d+)?(-causal)?$")


def _architecture(name: str) -> str:
    return _VARIANT.sub("", name)


def default_models() -> list[str]:
    """The yardstick, then one model per registered architecture (see the module doc), in registry order."""
    load_plugins()
    card_counts: dict[str, int] = {}
    for card in load_cards():
        card_counts[card.lifter] = card_counts.get(card.lifter, 0) + 1
    chosen: dict[str, str] = {}
    for name in list_lifters():
        arch = _architecture(name)
        spec = get_lifter_spec(name)
        if "causal" in spec.tags and arch in chosen:
            continue
        best = chosen.get(arch)
        rank = (-card_counts.get(name, 0), "causal" in spec.tags, _receptive_field(name))
        if best is None or rank < (
            -card_counts.get(best, 0),
            "causal" in get_lifter_spec(best).tags,
            _receptive_field(best),
        ):
            chosen[arch] = name
    models = [YARDSTICK] + [name for name in chosen.values() if name != YARDSTICK]
    return models


def _receptive_field(name: str) -> int:
    match = re.search(r"-t(\d+)", name)
    return int(match.group(1)) if match else 1


def missing_requirements(name: str) -> list[str]:
    """Optional modules a registered model needs and this environment lacks (empty: it can be built)."""
    return get_lifter_spec(name).missing_requirements()


def model_keypoints(keypoints: Sequence[np.ndarray], data_layout: Any, model_layout: Any) -> list[np.ndarray]:
    """The data's 2D keypoints of the model's own joints (a model built at a layout inside the data's)."""
    if model_layout.name == data_layout.name:
        return list(keypoints)
    index = list(model_layout.indices_in(data_layout))
    return [np.ascontiguousarray(kp[:, index]) for kp in keypoints]


def commit_label() -> str:
    """The short commit of the checkout (``+dirty`` when gastbench/ or baselines/ differ from it)."""
    revision = code_revision()
    if not revision:
        return "unknown commit"
    commit, _, dirty = revision.partition("+")
    return commit[:7] + (f"+{dirty}" if dirty else "")


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    bold: frozenset[int] = frozenset()  # cells to emphasise in markdown (below the bar)


def render(header: Sequence[str], rows: Sequence[Row], markdown: bool) -> str:
    """A markdown table (the README's) or aligned plain text."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
        for row in rows:
            cells = [f"**{c}**" if i in row.bold else c for i, c in enumerate(row.cells)]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)
    widths = [max(len(h), *(len(r.cells[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r.cells, widths)) for r in rows]
    return "\n".join(lines)


def print_table(
    heading: str, command: str, header: Sequence[str], rows: Sequence[Row], markdown: bool, skipped: Sequence[str] = ()
) -> None:
    """Print a benchmark's table as the README quotes it: the heading (commit, workload, machine),
    the command in backticks (markdown), the table, then one line per model left out and why."""
    print(heading)
    print(f"`{command}`\n" if markdown else f"{command}\n")
    print(render(header, rows, markdown))
    for line in skipped:
        print(f"skipped {line}")

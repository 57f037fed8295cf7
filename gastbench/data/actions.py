"""Action names: the dataset's spelling ("Walking 1", "Walking 1 chunk0") -> the table's."""

from __future__ import annotations

__all__ = ["H36M_ACTIONS", "HUMANEVA_ACTIONS", "fold_action"]

#: Human3.6M table order.
H36M_ACTIONS = (
    "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing", "Purchases",
    "Sitting", "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking", "WalkTogether",
)  # fmt: skip

#: HumanEva-I table order (the usual protocol evaluates only these).
HUMANEVA_ACTIONS = ("Walk", "Jog", "Box")

# Alternative spellings found in some Human3.6M exports, and HumanEva's long names.
_ALIASES = {
    "h36m": {"TakingPhoto": "Photo", "WalkingDog": "WalkDog"},
    "humaneva": {"Walking": "Walk"},
}


def fold_action(name: str, dataset: str = "h36m") -> str:
    """Table action of a sequence name: ``"Walking 1"`` -> ``"Walking"``; HumanEva ``"Walking 1 chunk0"`` -> ``"Walk"``."""
    base = name.strip().split(" ")[0]
    return _ALIASES.get(dataset, {}).get(base, base)

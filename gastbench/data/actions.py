"""Action names: the dataset's spelling ("Walking 1", "Walking 1 chunk0") -> the table's."""

from __future__ import annotations

__all__ = ["H36M_ACTIONS", "HUMANEVA_ACTIONS", "HUMANEVA_SUBJECTS", "fold_action"]

#: Human3.6M table order.
H36M_ACTIONS = (
    "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing", "Purchases",
    "Sitting", "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking", "WalkTogether",
)  # fmt: skip

#: HumanEva-I table order (the usual protocol trains and evaluates only these).
HUMANEVA_ACTIONS = ("Walk", "Jog", "Box")
#: HumanEva-I subjects, the columns of each action in the papers' Table 3.
HUMANEVA_SUBJECTS = ("S1", "S2", "S3")

# Alternative spellings found in some Human3.6M exports, and HumanEva's long names.
_ALIASES = {
    "h36m": {"TakingPhoto": "Photo", "WalkingDog": "WalkDog"},
    "humaneva": {"Walking": "Walk"},
}


def fold_action(name: str, dataset: str = "h36m") -> str:
    """Table action of a sequence name: ``"Walking 1"`` -> ``"Walking"``; HumanEva ``"Walking 1 chunk0"`` -> ``"Walk"``."""
    base = name.strip().split(" ")[0]
    return _ALIASES.get(dataset, {}).get(base, base)

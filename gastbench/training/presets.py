"""The recipe a model trains with: its own, its family's, else the default (:mod:`gastbench.recipes`)."""

from __future__ import annotations

from typing import Any

from ..model_id import parse_model_id
from ..recipes import DEFAULT_RECIPE_FAMILY, has_recipe, recipe_settings
from .config import TrainConfig

__all__ = ["default_recipe_note", "recipe_for", "resolve_config"]


def _recipe_family(model: str) -> str:
    """The lifter's own name if it has a recipe (SemGCN with non-local blocks), else its family's, else the default."""
    from ..registry import get_lifter_spec

    spec = get_lifter_spec(model)  # loads the plugins first: their recipes are registered on import
    base = parse_model_id(model).lifter
    for candidate in (base, spec.family):
        if has_recipe(candidate):
            return candidate
    return DEFAULT_RECIPE_FAMILY


def recipe_for(model: str, dataset: str) -> tuple[str, dict[str, Any]]:
    """The recipe's name and settings for ``model`` trained on ``dataset``.

    A family with no registered recipe gets the default one (named ``default/<dataset>``).
    """
    name = f"{_recipe_family(model)}/{dataset}"
    return name, recipe_settings(name)


def default_recipe_note(recipe: str) -> str | None:
    """A sentence saying which defaults a run took when its family registered no recipe (else None)."""
    family, _, _dataset = recipe.partition("/")
    if family != DEFAULT_RECIPE_FAMILY:
        return None
    shown = ", ".join(f"{k}={v}" for k, v in recipe_settings(recipe).items() if k != "actions")
    return (
        f"no training recipe registered for this family: using gastbench's default recipe ({shown}); "
        "declare one with gastbench.register_recipe(family, dataset, settings)"
    )


def resolve_config(model: str, dataset: str = "synthetic", input: str = "gt", **overrides: Any) -> TrainConfig:
    """The recipe for ``model`` on ``dataset`` with ``overrides`` applied (``None`` means "not given")."""
    name, settings = recipe_for(model, dataset)
    base = TrainConfig(model=model, dataset=dataset, input=input, recipe=name, **settings)
    return base.with_overrides(**overrides)

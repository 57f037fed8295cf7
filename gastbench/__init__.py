"""gastbench: one interface, one registry and one evaluation for 2D-to-3D human pose lifters.

The few calls a script needs are importable from here (see the README's Python example):
``load_dataset``, ``create_lifter`` (random weights) or ``resolve_lifter`` (a zoo card's or a
file's weights), ``evaluate`` with ``EvalOptions``, ``render_results`` (a table in any format),
``save_result``/``load_result``; ``StreamingLifter`` lifts one frame at a time, live; a plugin uses ``Lifter``, ``register_lifter`` and ``register_recipe``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ConfigError, DataError, GastbenchError, ShapeError, WeightsError

if TYPE_CHECKING:
    from .cards import find_card, load_cards
    from .data import PoseDataset, load_dataset
    from .evaluation import EvalOptions, evaluate
    from .lifter import Lifter, LifterMetadata, PaperConvention
    from .pretrained import WeightsInfo, load_pretrained, resolve_lifter
    from .recipes import register_recipe
    from .registry import create_lifter, get_lifter_spec, list_lifters, register_lifter
    from .results import EvalResult, load_result, save_result
    from .skeleton import Skeleton, get_layout, list_layouts
    from .streaming import StreamingLifter
    from .tables import render_results

# Torch-backed names load on first use, so `gastbench --help` and tab completion stay fast.
_LAZY = {
    "Lifter": "lifter", "LifterMetadata": "lifter", "PaperConvention": "lifter",
    "create_lifter": "registry", "get_lifter_spec": "registry", "list_lifters": "registry",
    "register_lifter": "registry", "Skeleton": "skeleton", "get_layout": "skeleton", "list_layouts": "skeleton",
    "find_card": "cards", "load_cards": "cards", "PoseDataset": "data", "load_dataset": "data",
    "EvalOptions": "evaluation", "evaluate": "evaluation", "WeightsInfo": "pretrained",
    "load_pretrained": "pretrained", "resolve_lifter": "pretrained", "EvalResult": "results",
    "load_result": "results", "save_result": "results", "render_results": "tables", "register_recipe": "recipes",
    "StreamingLifter": "streaming",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gastbench' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "__version__",
    "ConfigError",
    "DataError",
    "GastbenchError",
    "ShapeError",
    "WeightsError",
    *sorted(_LAZY),
]

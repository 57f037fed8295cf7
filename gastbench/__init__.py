"""gastbench: one interface, one registry and one evaluation for 2D-to-3D human pose lifters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ConfigError, DataError, GastbenchError, ShapeError, WeightsError

if TYPE_CHECKING:
    from .lifter import Lifter, LifterMetadata, PaperConvention
    from .registry import create_lifter, get_lifter_spec, list_lifters, register_lifter
    from .skeleton import Skeleton, get_layout, list_layouts

# Torch-backed names load on first use, so `gastbench --help` and tab completion stay fast.
_LAZY = {
    "Lifter": "lifter", "LifterMetadata": "lifter", "PaperConvention": "lifter",
    "create_lifter": "registry", "get_lifter_spec": "registry", "list_lifters": "registry",
    "register_lifter": "registry", "Skeleton": "skeleton", "get_layout": "skeleton", "list_layouts": "skeleton",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gastbench' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "__version__",
    "ConfigError",
    "DataError",
    "GastbenchError",
    "ShapeError",
    "WeightsError",
    "Lifter",
    "LifterMetadata",
    "PaperConvention",
    "Skeleton",
    "create_lifter",
    "get_layout",
    "get_lifter_spec",
    "list_layouts",
    "list_lifters",
    "register_lifter",
]

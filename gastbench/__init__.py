"""gastbench: one interface, one registry and one evaluation for 2D-to-3D human pose lifters."""

from __future__ import annotations

from .errors import ConfigError, DataError, GastbenchError, ShapeError, WeightsError
from .lifter import Lifter, LifterMetadata, PaperConvention
from .registry import create_lifter, get_lifter_spec, list_lifters, register_lifter
from .skeleton import Skeleton, get_layout, list_layouts

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

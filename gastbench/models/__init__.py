"""Built-in lifters: GAST-Net at receptive fields 9, 27, 81 and 243 frames, non-causal and causal.

Importing this module registers every variant. Overrides: ``causal``, ``dropout``,
``channels``. Widths follow the reference scripts: the base width doubles after every
graph block and is chosen so the last layer has 1024 channels (T=9 ends at 512).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from ..registry import register_lifter
from ..skeleton import Skeleton
from .checkpoint_format import GASTNET_CHECKPOINT
from .gastnet import GASTNET_METADATA, GASTNet, GraphAttentionBlock

__all__ = ["GASTNet", "GraphAttentionBlock", "GAST_VARIANTS"]

#: name -> (filter widths, base channels)
GAST_VARIANTS: dict[str, tuple[tuple[int, ...], int]] = {
    "gast-t9": ((3, 3), 128),
    "gast-t27": ((3, 3, 3), 128),
    "gast-t81": ((3, 3, 3, 3), 64),
    "gast-t243": ((3, 3, 3, 3, 3), 32),
}

_LAYOUTS = ("h36m", "h36m16", "humaneva")
_OVERRIDES = {"causal", "dropout", "channels"}


def _factory(name: str, filter_widths: tuple[int, ...], channels: int, causal: bool) -> Callable[..., GASTNet]:
    frames = 1
    for fw in filter_widths:
        frames *= fw

    def build(layout: Skeleton, **overrides: Any) -> GASTNet:
        unknown = set(overrides) - _OVERRIDES
        if unknown:
            raise ConfigError(f"{name}: unknown override(s) {sorted(unknown)}; allowed: {sorted(_OVERRIDES)}")
        return GASTNet(
            layout,
            filter_widths,
            channels=int(overrides.get("channels", channels)),
            causal=bool(overrides.get("causal", causal)),
            dropout=float(overrides.get("dropout", 0.25)),
        )

    kind = "causal " if causal else ""
    build.__doc__ = (
        f"GAST-Net, {kind}receptive field {frames} frames (filter widths {filter_widths}, {channels} channels)."
    )
    build.__name__ = build.__qualname__ = name.replace("-", "_")
    return build


for _name, (_widths, _channels) in GAST_VARIANTS.items():
    for _causal in (False, True):
        _full = f"{_name}-causal" if _causal else _name
        register_lifter(
            _full,
            family=GASTNET_METADATA.family,
            paper=GASTNET_METADATA.paper,
            default_layout="h36m",
            layouts=_LAYOUTS,
            tags=("temporal", "graph", *(("causal",) if _causal else ())),
            checkpoint_format=GASTNET_CHECKPOINT,
        )(_factory(_full, _widths, _channels, _causal))

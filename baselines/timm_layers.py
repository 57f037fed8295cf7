"""timm's transformer layers for the transformer families, imported only when a model is built.

timm is an optional extra (``pip install "gastbench[transformers]"``): the families register
their names without it, and building one without it is a one-line
:class:`~gastbench.errors.ConfigError` saying what to install (as for PoseFormer).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from gastbench.errors import ConfigError

__all__ = ["TimmLayers", "install_hint", "timm_layers"]


def install_hint(family: str) -> str:
    """What to install for ``family`` (one line)."""
    return (
        f'{family} needs timm: pip install "gastbench[transformers]", with a torchvision that matches '
        "torch (known good: torch==2.14.1 with torchvision==0.29.1)"
    )


@dataclass(frozen=True)
class TimmLayers:
    """The timm classes a family is built from."""

    Block: type[nn.Module]
    Attention: type[nn.Module]
    Mlp: type[nn.Module]
    DropPath: type[nn.Module]


def timm_layers(family: str) -> TimmLayers:
    """timm's ``Block``, ``Attention``, ``Mlp`` and ``DropPath``, or a ConfigError naming what to install."""
    try:
        from timm.layers import DropPath, Mlp
        from timm.models.vision_transformer import Attention, Block
    except Exception as exc:  # a torchvision built for another torch fails with RuntimeError, not ImportError
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{install_hint(family)} (import failed: {reason})") from None
    return TimmLayers(Block=Block, Attention=Attention, Mlp=Mlp, DropPath=DropPath)

"""Model ids in timm's ``arch.tag`` form: ``gast-t81.h36m-cpn`` is lifter ``gast-t81`` on ``h36m`` with ``cpn``.

The one place that splits such an id; the registry, the cards, the recipes and the
conformance checks all ask here.
"""

from __future__ import annotations

from typing import NamedTuple

from .errors import ConfigError

__all__ = ["ModelId", "card_id", "parse_model_id"]


class ModelId(NamedTuple):
    """A parsed model id; ``dataset``/``input`` are None when the id has no tag."""

    lifter: str
    dataset: str | None = None
    input: str | None = None


def card_id(lifter: str, dataset: str, input: str) -> str:
    """The timm-style id ``<lifter>.<dataset>-<input>``."""
    return f"{lifter}.{dataset}-{input}"


def parse_model_id(name: str, *, strict: bool = False) -> ModelId:
    """``"gast-t81.h36m-cpn"`` -> ``ModelId("gast-t81", "h36m", "cpn")``; a bare name has no tag.

    A tag without ``<dataset>-<input>`` is a :class:`ConfigError` when ``strict``, else ignored
    (the lifter name alone is what the registry needs).
    """
    lifter, dot, tag = name.partition(".")
    if not dot:
        return ModelId(lifter)
    dataset, dash, input = tag.partition("-")
    if not dash or not dataset or not input:
        if strict:
            raise ConfigError(f"zoo id {name!r}: expected '<lifter>.<dataset>-<input>', e.g. 'gast-t81.h36m-cpn'")
        return ModelId(lifter)
    return ModelId(lifter, dataset, input)

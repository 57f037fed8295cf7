"""Skipping models whose optional extra (e.g. timm for PoseFormer) is not installed."""

from __future__ import annotations

import pytest

from gastbench.registry import get_lifter_spec


def skip_without_extras(name: str) -> None:
    """Skip the calling test, naming the install, when lifter ``name`` cannot be built here."""
    missing = get_lifter_spec(name).missing_requirements()
    if missing:
        pytest.skip(
            f"{name} needs {', '.join(missing)}: pip install 'gastbench[transformers]' with a matching torchvision"
        )

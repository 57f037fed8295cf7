"""The library names the visualisation and inference code uses, imported in one place."""

from __future__ import annotations

from ..evaluation import predict_sequences
from ..pretrained import WeightsInfo, resolve_lifter

__all__ = ["WeightsInfo", "predict_sequences", "resolve_lifter"]

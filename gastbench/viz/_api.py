"""The library names the visualisation and inference code uses, imported in one place.

The weights and evaluation modules are being reorganised; only this file needs re-pointing.
"""

from __future__ import annotations

from ..evaluate import predict_sequences
from ..weights import WeightsInfo, resolve_lifter

__all__ = ["WeightsInfo", "predict_sequences", "resolve_lifter"]

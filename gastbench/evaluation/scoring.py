"""Per-frame errors of aligned poses, in the arithmetic a protocol asks for.

``float64`` is gastbench's own arithmetic (:mod:`gastbench.metrics`): well below a micrometre
from the exact value. ``float32`` reproduces the authors' code where it computes in float32
(VideoPose3D, GAST-Net, SemGCN): P1 and N-MPJPE as torch float32 reductions per frame, P2 as a
numpy float32 similarity Procrustes (numpy's LAPACK, not torch's: the SVD's last bits differ
between the two libraries, and a float32 SVD's rounding moves P2 by a few 1e-6 mm). In float32
these agree with the authors' per-frame values to the bit (``tests/test_conventions.py``);
the float64 values differ from them by float32 rounding, ~1e-5 mm.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from ..errors import ShapeError
from ..metrics import mpjpe, n_mpjpe, p_mpjpe

__all__ = ["FRAME_ERRORS", "Precision", "frame_errors"]

Precision = Literal["float32", "float64"]

#: The per-frame errors :func:`frame_errors` returns, in mm.
FRAME_ERRORS = ("mpjpe_mm", "p_mpjpe_mm", "n_mpjpe_mm")


def frame_errors(pred_m: np.ndarray, target_m: np.ndarray, precision: Precision = "float64") -> dict[str, np.ndarray]:
    """Per-frame MPJPE, P-MPJPE and N-MPJPE in mm (float64 arrays) of ``(N, J, 3)`` poses in metres."""
    if pred_m.shape != target_m.shape or pred_m.ndim != 3 or pred_m.shape[-1] != 3:
        raise ShapeError(f"frame_errors: expected two (N, J, 3) arrays, got {pred_m.shape} and {target_m.shape}")
    if precision == "float64":
        p, t = torch.from_numpy(np.asarray(pred_m)), torch.from_numpy(np.asarray(target_m))
        return {
            "mpjpe_mm": mpjpe(p, t).numpy() * 1000.0,
            "p_mpjpe_mm": p_mpjpe(p, t).numpy() * 1000.0,
            "n_mpjpe_mm": n_mpjpe(p, t).numpy() * 1000.0,
        }
    if precision != "float32":
        raise ShapeError(f"frame_errors: precision must be 'float32' or 'float64', got {precision!r}")
    p32 = np.ascontiguousarray(pred_m, dtype=np.float32)
    t32 = np.ascontiguousarray(target_m, dtype=np.float32)
    p, t = torch.from_numpy(p32), torch.from_numpy(t32)
    return {
        "mpjpe_mm": _mpjpe32(p, t).numpy().astype(np.float64) * 1000.0,
        "p_mpjpe_mm": _p_mpjpe32(p32, t32).astype(np.float64) * 1000.0,
        "n_mpjpe_mm": _n_mpjpe32(p, t).numpy().astype(np.float64) * 1000.0,
    }


def _mpjpe32(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(pred - target, dim=-1).mean(dim=-1)


def _n_mpjpe32(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    scale = (target * pred).sum(dim=(-2, -1), keepdim=True) / (pred * pred).sum(dim=(-2, -1), keepdim=True)
    return _mpjpe32(scale * pred, target)


def _p_mpjpe32(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Similarity-Procrustes error per frame in float32 numpy, the rotation kept proper.

    The operation order is the one the float32 reference implementations use (centre, scale both
    to unit Frobenius norm, SVD of the 3x3 cross-covariance, flip the last singular vector of an
    improper rotation), so the result's rounding is theirs too. A pose with all joints equal
    gives NaN, as there.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        centre_t = target.mean(axis=1, keepdims=True)
        centre_p = pred.mean(axis=1, keepdims=True)
        t0 = target - centre_t
        p0 = pred - centre_p
        norm_t = np.sqrt((t0**2).sum(axis=(1, 2), keepdims=True))
        norm_p = np.sqrt((p0**2).sum(axis=(1, 2), keepdims=True))
        t0 = t0 / norm_t
        p0 = p0 / norm_p
        u, s, vt = np.linalg.svd(np.matmul(t0.transpose(0, 2, 1), p0))
        v = vt.transpose(0, 2, 1)
        improper = np.sign(np.linalg.det(np.matmul(v, u.transpose(0, 2, 1))))[:, None]
        v[:, :, -1] *= improper
        s[:, -1] *= improper[:, 0]
        rotation = np.matmul(v, u.transpose(0, 2, 1))
        scale = s.sum(axis=1, keepdims=True)[:, :, None] * norm_t / norm_p
        shift = centre_t - scale * np.matmul(centre_p, rotation)
        aligned = scale * np.matmul(pred, rotation) + shift
        return np.linalg.norm(aligned - target, axis=-1).mean(axis=-1)

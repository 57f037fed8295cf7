"""Pose-error metrics, batched in torch, one value per frame so callers choose the weighting.

Every function takes ``pred`` and ``target`` of shape ``(..., J, 3)`` (same unit, usually
metres) and returns the per-frame error ``(...)`` in that unit, computed in float64 so that
results agree with a float64 reference to well below a micrometre.

- :func:`mpjpe` — Protocol #1: mean Euclidean joint distance, no alignment.
- :func:`p_mpjpe` — Protocol #2: after a similarity Procrustes alignment of the prediction
  (rotation, translation *and* scale), the rotation kept proper (no reflection).
- :func:`n_mpjpe` — after a least-squares *scale* of the prediction only.
- :func:`mpjve` — velocity error: MPJPE of first differences along time ``(..., T, J, 3)``.

One widely used library swaps the names of P-MPJPE and N-MPJPE in its docstring; the tests
check the definitions (a rotated, scaled, shifted copy has zero P-MPJPE; only a scaled copy
has zero N-MPJPE).
"""

from __future__ import annotations

import torch

from .errors import ShapeError

__all__ = ["mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "procrustes_align"]

# Below this squared norm a pose is treated as a single point (all joints equal).
_TINY = 1e-24


def _check(pred: torch.Tensor, target: torch.Tensor, name: str, min_dims: int = 2) -> None:
    if pred.shape != target.shape:
        raise ShapeError(f"{name}: prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    if pred.dim() < min_dims or pred.shape[-1] != 3:
        expected = "(..., T, J, 3)" if min_dims == 3 else "(..., J, 3)"
        raise ShapeError(f"{name}: expected {expected}, got {tuple(pred.shape)}")


def _f64(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.float64)


def mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean per-joint position error per frame: ``(..., J, 3) -> (...)``."""
    _check(pred, target, "mpjpe")
    return torch.linalg.vector_norm(_f64(pred) - _f64(target), dim=-1).mean(dim=-1)


def procrustes_align(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``pred`` moved onto ``target`` by the best similarity transform (float64, ``(..., J, 3)``).

    Solves ``min_{s,R,t} |s * pred @ R + t - target|`` per frame with ``R`` a proper rotation:
    when the SVD's best orthogonal map is a reflection, the last singular vector's sign is
    flipped (Umeyama / Kabsch). Degenerate poses stay finite: a prediction with all joints
    equal maps to the target's centroid (scale 0).
    """
    _check(pred, target, "procrustes_align")
    x = _f64(target)
    y = _f64(pred)
    mu_x = x.mean(dim=-2, keepdim=True)
    mu_y = y.mean(dim=-2, keepdim=True)
    x0 = x - mu_x
    y0 = y - mu_y
    norm_x = torch.sqrt((x0 * x0).sum(dim=(-2, -1), keepdim=True).clamp_min(_TINY))
    norm_y = torch.sqrt((y0 * y0).sum(dim=(-2, -1), keepdim=True).clamp_min(_TINY))
    x0 = x0 / norm_x
    y0 = y0 / norm_y
    h = x0.transpose(-1, -2) @ y0  # (..., 3, 3)
    u, s, vh = torch.linalg.svd(h)
    v = vh.transpose(-1, -2)
    # det(V U^T) = det(V) det(U); -1 means the optimum is a reflection: flip the last axis.
    det = torch.linalg.det(v @ u.transpose(-1, -2))
    sign = torch.where(det < 0, -1.0, 1.0).to(torch.float64)
    v = torch.cat([v[..., :, :2], v[..., :, 2:] * sign[..., None, None]], dim=-1)
    s = torch.cat([s[..., :2], s[..., 2:] * sign[..., None]], dim=-1)
    rot = v @ u.transpose(-1, -2)
    trace = s.sum(dim=-1)[..., None, None]
    scale = trace * norm_x / norm_y
    return scale * (y0 * norm_y) @ rot + mu_x


def p_mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Protocol #2: MPJPE after similarity Procrustes alignment (rotation, translation, scale)."""
    _check(pred, target, "p_mpjpe")
    return mpjpe(procrustes_align(pred, target), _f64(target))


def n_mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MPJPE after the least-squares scale of ``pred`` about the origin (no rotation, no translation)."""
    _check(pred, target, "n_mpjpe")
    y = _f64(pred)
    x = _f64(target)
    num = (x * y).sum(dim=(-2, -1), keepdim=True)
    den = (y * y).sum(dim=(-2, -1), keepdim=True).clamp_min(_TINY)
    return mpjpe(num / den * y, x)


def mpjve(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Velocity error per frame pair: ``(..., T, J, 3) -> (..., T-1)`` (unit per frame)."""
    _check(pred, target, "mpjve", min_dims=3)
    return mpjpe(torch.diff(_f64(pred), dim=-3), torch.diff(_f64(target), dim=-3))

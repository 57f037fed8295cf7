"""Metrics against an independent float64 NumPy reference, and against their definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gastbench.errors import ShapeError
from gastbench.metrics import mpjpe, mpjve, n_mpjpe, p_mpjpe

TOL_MM = 1e-6


# --- float64 NumPy reference, one frame at a time ---------------------------------------
def ref_mpjpe(p: np.ndarray, t: np.ndarray) -> float:
    return float(np.mean(np.sqrt(np.sum((p - t) ** 2, axis=-1))))


def ref_p_mpjpe(p: np.ndarray, t: np.ndarray) -> float:
    mu_t, mu_p = t.mean(0), p.mean(0)
    t0, p0 = t - mu_t, p - mu_p
    nt, np_ = np.linalg.norm(t0), np.linalg.norm(p0)
    if np_ < 1e-12:  # a point: best similarity is scale 0 onto the target centroid
        return ref_mpjpe(np.broadcast_to(mu_t, t.shape), t)
    if nt < 1e-12:
        return 0.0
    u, s, vt = np.linalg.svd((t0 / nt).T @ (p0 / np_))
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    fix = np.diag([1.0, 1.0, d])
    rot = vt.T @ fix @ u.T
    scale = (s * np.diag(fix)).sum() * nt / np_
    return ref_mpjpe(scale * p0 @ rot + mu_t, t)


def ref_n_mpjpe(p: np.ndarray, t: np.ndarray) -> float:
    den = np.sum(p * p)
    scale = np.sum(p * t) / den if den > 0 else 0.0
    return ref_mpjpe(scale * p, t)


def ref_mpjve(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.array([ref_mpjpe(a, b) for a, b in zip(np.diff(p, axis=0), np.diff(t, axis=0))])


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


@pytest.fixture()
def poses() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    target = rng.normal(scale=300.0, size=(40, 17, 3))  # mm
    pred = target + rng.normal(scale=40.0, size=target.shape)
    rot = random_rotation(rng)
    pred[5] = 1.3 * target[5] @ rot + np.array([10.0, -20.0, 30.0])  # exact similarity copy
    pred[6] = target[6] * np.array([-1.0, 1.0, 1.0])  # mirror image: no proper rotation fixes it
    pred[7] = target[7] @ rot  # rotated only
    pred[8] = 0.7 * target[8]  # scaled only
    pred[9] = np.full((17, 3), 5.0)  # degenerate: all joints equal
    target[10] = np.full((17, 3), -3.0)  # degenerate target
    pred[11] = np.outer(np.linspace(-1, 1, 17), [100.0, 50.0, -20.0])  # collinear prediction
    target[12] = np.outer(np.linspace(0, 2, 17), [0.0, 300.0, 10.0])  # collinear target
    pred[13] = target[13] + 1.0  # near-identical copy (well-conditioned, small error)
    return pred, target


@pytest.mark.parametrize(
    ("fn", "ref"), [(mpjpe, ref_mpjpe), (p_mpjpe, ref_p_mpjpe), (n_mpjpe, ref_n_mpjpe)], ids=["mpjpe", "p", "n"]
)
def test_matches_numpy_reference(fn, ref, poses) -> None:  # type: ignore[no-untyped-def]
    pred, target = poses
    expected = np.array([ref(p, t) for p, t in zip(pred, target)])
    for dtype in (torch.float64, torch.float32):
        got = fn(torch.tensor(pred, dtype=dtype), torch.tensor(target, dtype=dtype)).numpy()
        assert got.shape == (40,) and got.dtype == np.float64 and np.isfinite(got).all()
        if dtype == torch.float64:
            np.testing.assert_allclose(got, expected, rtol=0, atol=TOL_MM)
        else:  # float32 inputs: agreement limited by the input rounding only
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)


def test_batched_shape_and_mpjve(poses) -> None:  # type: ignore[no-untyped-def]
    pred, target = poses
    p = torch.tensor(pred.reshape(2, 20, 17, 3))
    t = torch.tensor(target.reshape(2, 20, 17, 3))
    assert mpjpe(p, t).shape == (2, 20)
    assert p_mpjpe(p, t).shape == (2, 20)
    vel = mpjve(p, t)
    assert vel.shape == (2, 19)
    for b in range(2):
        np.testing.assert_allclose(
            vel[b].numpy(),
            ref_mpjve(pred.reshape(2, 20, 17, 3)[b], target.reshape(2, 20, 17, 3)[b]),
            atol=TOL_MM,
            rtol=0,
        )


def test_definitions() -> None:
    rng = np.random.default_rng(1)
    target = rng.normal(scale=200.0, size=(17, 3))
    rot = random_rotation(rng)
    t = torch.tensor(target)
    similar = torch.tensor(1.7 * target @ rot + np.array([5.0, 6.0, -7.0]))
    scaled = torch.tensor(0.6 * target)
    rotated = torch.tensor(target @ rot)
    mirrored = torch.tensor(target * np.array([-1.0, 1.0, 1.0]))
    # P-MPJPE: rotation + translation + scale removed.
    assert float(p_mpjpe(similar, t)) < 1e-9
    assert float(mpjpe(similar, t)) > 1.0
    # N-MPJPE: scale only.
    assert float(n_mpjpe(scaled, t)) < 1e-9
    assert float(n_mpjpe(rotated, t)) > 1.0
    assert float(n_mpjpe(similar, t)) > 1.0
    # A reflection is not a rotation: the mirror image keeps an error.
    assert float(p_mpjpe(mirrored, t)) > 1.0
    # Identity.
    assert float(mpjpe(t, t)) == 0.0 and float(mpjve(t[None].expand(3, 17, 3), t[None].expand(3, 17, 3)).sum()) == 0.0
    # Alignment never increases the error.
    noisy = torch.tensor(target + rng.normal(scale=30.0, size=target.shape))
    assert float(p_mpjpe(noisy, t)) <= float(n_mpjpe(noisy, t)) + 1e-9 <= float(mpjpe(noisy, t)) + 2e-9


def test_degenerate_poses_are_finite() -> None:
    zeros = torch.zeros(4, 17, 3)
    point = torch.ones(4, 17, 3)
    for fn in (mpjpe, p_mpjpe, n_mpjpe):
        for a, b in ((zeros, zeros), (zeros, point), (point, zeros), (point, point)):
            assert torch.isfinite(fn(a, b)).all()
    assert float(p_mpjpe(point, point).max()) == 0.0


def test_shape_errors() -> None:
    with pytest.raises(ShapeError, match="differ in shape"):
        mpjpe(torch.zeros(2, 17, 3), torch.zeros(2, 16, 3))
    with pytest.raises(ShapeError, match=r"\(\.\.\., J, 3\)"):
        p_mpjpe(torch.zeros(2, 17, 2), torch.zeros(2, 17, 2))
    with pytest.raises(ShapeError, match="T, J, 3"):
        mpjve(torch.zeros(17, 3), torch.zeros(17, 3))

"""``gastbench check`` for sequence-to-sequence lifters: the clip contract instead of the window contract.

A sequence-to-sequence lifter (MixSTE, MotionBERT) maps a clip to a pose for every frame of it, so
the windowed checks (``T - RF + 1`` outputs, locality to one window) do not apply. Checked instead:

- ``shape``: a clip of ``clip_frames`` frames gives as many poses, finite (and a shorter clip as many
  as it has frames, for a model that takes shorter clips);
- ``clip_length``: a clip longer than ``clip_frames`` is refused (and a shorter one too, unless the
  model declares ``shorter_clips``);
- ``context``: changing one input frame moves that frame's own output (the model reads its input)
  and, through attention, others of the clip (the reason it is lifted clip by clip);
- ``flip``: mirror permutations are involutions; with trained weights, the model is roughly
  mirror-equivariant on real poses (as for windowed lifters);
- ``determinism``: two evaluations of one clip are bit-identical.
"""

from __future__ import annotations

import torch

from .conformance_behaviour import FLIP_TOLERANCE, _walking_person, check_flip_equivariance
from .errors import ShapeError
from .lifter import Lifter

__all__ = ["run_clip_checks"]


def _clip(lifter: Lifter, frames: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(2, frames, lifter.input_layout.num_joints, 2, generator=gen) * 2 - 1


def _shape(lifter: Lifter) -> tuple[str, str]:
    assert lifter.clip_frames is not None
    lengths = [lifter.clip_frames] + ([max(1, lifter.clip_frames // 3)] if lifter.shorter_clips else [])
    j_out = lifter.output_layout.num_joints
    for frames in lengths:
        y = lifter(_clip(lifter, frames))
        if tuple(y.shape) != (2, frames, j_out, 3):
            return "fail", f"a clip of {frames} frames gave {tuple(y.shape)}, expected (2, {frames}, {j_out}, 3)"
        if not torch.isfinite(y).all():
            return "fail", "the output holds NaN or inf"
    return "pass", f"(B,T,{lifter.input_layout.num_joints},2) -> (B,T,{j_out},3) for T in {lengths}"


def _clip_length(lifter: Lifter) -> tuple[str, str]:
    assert lifter.clip_frames is not None
    length = lifter.clip_frames
    try:
        lifter(_clip(lifter, length + 1))
        return "fail", f"a clip of {length + 1} frames (clip_frames + 1) was accepted, not refused"
    except ShapeError:
        pass
    if lifter.shorter_clips:
        return "pass", f"clips of 1 to {length} frames; {length + 1} refused"
    try:
        lifter(_clip(lifter, length - 1))
        return "fail", f"a clip of {length - 1} frames was accepted but the model does not declare shorter_clips"
    except ShapeError:
        return "pass", f"clips of exactly {length} frames; {length - 1} and {length + 1} refused"


def _context(lifter: Lifter) -> tuple[str, str]:
    assert lifter.clip_frames is not None
    x = _clip(lifter, lifter.clip_frames, seed=1)
    bumped = x.clone()
    k = lifter.clip_frames // 2
    bumped[:, k] += 0.25
    moved = ((lifter(bumped) - lifter(x)).abs().amax(dim=(0, 2, 3)) > 1e-6).nonzero().flatten().tolist()
    if k not in moved:
        return "fail", f"changing input frame {k} did not move its own output frame: the model ignores its input"
    return (
        "pass",
        f"changing input frame {k} moved its own output and {len(moved) - 1} other(s) of the {lifter.clip_frames}-frame clip",
    )


def _flip(lifter: Lifter, trained: bool) -> tuple[str, str]:
    assert lifter.clip_frames is not None
    if not trained:
        return check_flip_equivariance(lifter, trained)  # the permutation part
    poses = _walking_person(lifter.input_layout)
    if poses is None or (poses.shape[1] < lifter.clip_frames and not lifter.shorter_clips):
        return (
            "skip",
            f"mirror permutations are involutions; no real clip of {lifter.clip_frames} frames in this layout",
        )
    x = poses[:, : lifter.clip_frames]
    y = lifter(x)
    y_flip = lifter.output_layout.mirror(lifter(lifter.input_layout.mirror(x)))
    size = float((y - y.mean(dim=-2, keepdim=True)).norm(dim=-1).mean())
    if size < 1e-6:
        return "fail", "every output joint is at the same place: the model predicts no pose on real input"
    err = float((y - y_flip).norm(dim=-1).mean()) / size
    if err <= FLIP_TOLERANCE:
        return "pass", f"mirror-equivariant on a real clip: relative error {err:.3f} <= {FLIP_TOLERANCE}"
    return "fail", f"not mirror-equivariant on a real clip: relative error {err:.3f} > {FLIP_TOLERANCE} (joint order?)"


def _determinism(lifter: Lifter) -> tuple[str, str]:
    assert lifter.clip_frames is not None
    x = _clip(lifter, lifter.clip_frames, seed=2)
    first, second = lifter(x), lifter(x)
    if not torch.equal(first, second):
        return "fail", f"two evaluations differ by {float((first - second).abs().max()):.2e}"
    return "pass", "two evaluations are bit-identical"


def run_clip_checks(lifter: Lifter, trained: bool = False) -> list[tuple[str, str, str]]:
    """``(name, status, detail)`` of every clip check; whatever a check raises is its ``fail`` row."""
    checks = (
        ("shape", _shape), ("clip_length", _clip_length), ("context", _context),
        ("flip", lambda m: _flip(m, trained)), ("determinism", _determinism),
    )  # fmt: skip
    rows = []
    for name, check in checks:
        try:
            status, detail = check(lifter)
        except Exception as exc:  # noqa: BLE001 - a contributed model may raise anything: a fail row, not a traceback
            status, detail = "fail", f"{type(exc).__name__}: {exc}"
        rows.append((name, status, detail))
    return rows

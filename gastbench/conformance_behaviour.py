"""The behaviour checks of ``gastbench check``: what a lifter's outputs may depend on.

- ``locality``: perturb one input frame and see which output frames change. Output frame
  ``t`` is lifted from the input window ``t .. t + RF - 1`` (for a causal model the window
  ends at the predicted frame, so that is "past frames only"); any other output that moves
  means the model reads outside its receptive field, e.g. a sequence mean, and every number
  it produces depends on how the sequence was chunked. The output whose own frame was moved
  (the window's centre, or its last frame for a causal model) must move: a model that ignores
  its input, or predicts the centre of its window while declaring itself causal, fails.
- ``flip``: test-time flip averaging needs both layouts' mirror permutations to be
  involutions; with trained weights the model itself must be roughly mirror-equivariant on
  a synthetic walking person (``|f(mirror x) - mirror f(x)|`` small against the pose's size), which fails when
  the output joints are not in the declared layout's order.
"""

from __future__ import annotations

import torch

from .errors import ConfigError
from .lifter import Lifter
from .skeleton import H36M_17, Skeleton

__all__ = ["check_locality", "check_flip_equivariance", "FLIP_TOLERANCE"]

#: Largest relative mirror-equivariance error of trained weights: mean joint distance between
#: ``f(mirror x)`` and ``mirror f(x)`` over the mean joint distance from the pose's centre.
#: Trained lifters (all trained with flip augmentation) sit far below; a left/right mix-up near 1.
FLIP_TOLERANCE = 0.25


def _negate_x(pose: torch.Tensor) -> torch.Tensor:
    """A mirror without the left/right swap: what a joint-order mix-up would look like."""
    out = pose.clone()
    out[..., 0] = -out[..., 0]
    return out


def check_locality(lifter: Lifter) -> tuple[str, str]:
    """``(status, detail)`` of the locality check (eval mode, no gradients expected)."""
    rf = lifter.receptive_field
    frames = 2 * rf + 3  # room for outputs on both sides of the perturbed frame
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(1, frames, lifter.input_layout.num_joints, 2, generator=gen) * 2 - 1
    k = frames // 2
    bumped = x.clone()
    bumped[:, k] += 0.5
    a, b = lifter(x, mode="dilated"), lifter(bumped, mode="dilated")
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        return "fail", "the model's output holds NaN or inf on inputs in [-1, 1]"
    scale = max(float(a.abs().max()), 1.0)
    changed = ((a - b).abs().amax(dim=(0, 2, 3)) > 1e-5 * scale).nonzero().flatten().tolist()
    allowed = range(max(k - rf + 1, 0), k + 1)  # outputs whose window t .. t+RF-1 holds frame k
    own = k - lifter.pad - lifter.causal_shift  # the output predicted for frame k itself
    outside = [t for t in changed if t not in allowed]
    if not changed:
        return "fail", (
            f"changing input frame {k} moved none of the {a.shape[1]} output frames: the model ignores its input "
            "(e.g. an infinite BatchNorm variance or a zeroed layer)"
        )
    if outside:
        side = "later" if any(t < allowed.start for t in outside) else "earlier"
        what = "future frames (declared causal)" if lifter.causal and side == "later" else "frames outside its window"
        return "fail", (
            f"changing input frame {k} of {frames} moved output frame(s) {outside[:6]}"
            f"{'...' if len(outside) > 6 else ''}, outside the receptive field ({allowed.start}..{allowed.stop - 1}): "
            f"the model reads {what}"
        )
    if own not in changed:
        role = "the last frame of its window (declared causal)" if lifter.causal else "the centre of its window"
        return "fail", (
            f"changing input frame {k} did not move output frame {own}, whose own frame it is ({role}); "
            f"outputs {changed[:6]} moved: the model predicts another frame of its window than it declares"
        )
    kind = "past frames only (causal)" if lifter.causal else f"its {rf}-frame window"
    return (
        "pass",
        f"each output frame depends on {kind}: {len(changed)} of {a.shape[1]} outputs moved, its own among them",
    )


def _walking_person(layout: Skeleton) -> torch.Tensor | None:
    """Normalized 2D keypoints of a synthetic walking person in ``layout`` (None if the layout cannot be built)."""
    from .data.synthetic import load_synthetic

    try:
        select = list(layout.indices_in(H36M_17))
    except ConfigError:  # the layout names joints the synthetic person does not have
        return None
    seq = load_synthetic("gt").sequences("test")[0]
    return torch.as_tensor(seq.keypoints_2d[:, select]).unsqueeze(0).float()


def check_flip_equivariance(lifter: Lifter, trained: bool) -> tuple[str, str]:
    """``(status, detail)`` of the flip check; the model part runs only with trained weights."""
    for role, layout in (("input", lifter.input_layout), ("output", lifter.output_layout)):
        perm = list(layout.flip_permutation)
        if sorted(perm) != list(range(layout.num_joints)) or any(perm[perm[j]] != j for j in range(len(perm))):
            return "fail", f"{role} layout {layout.name!r}: its mirror permutation {perm} is not an involution"
    if not trained:
        return "skip", "mirror permutations are involutions; model equivariance needs trained weights (random here)"
    x = _walking_person(lifter.input_layout)
    if x is None or x.shape[1] < lifter.receptive_field:
        return (
            "skip",
            f"mirror permutations are involutions; no synthetic walking person in layout {lifter.input_layout.name!r}",
        )
    y = lifter(x, mode="dilated")
    y_of_mirror = lifter(lifter.input_layout.mirror(x), mode="dilated")
    y_flip = lifter.output_layout.mirror(y_of_mirror)
    if not (torch.isfinite(y).all() and torch.isfinite(y_of_mirror).all()):
        return "fail", "the model's output on a synthetic walking person holds NaN or inf"
    size = float((y - y.mean(dim=-2, keepdim=True)).norm(dim=-1).mean())
    if size < 1e-6:
        return "fail", "every output joint is at the same place: the model predicts no pose on real input"
    err = float((y - y_flip).norm(dim=-1).mean()) / size
    response = float((y_of_mirror - y).norm(dim=-1).mean()) / size
    if response < 1e-6:
        return "fail", "a mirrored input gives exactly the same output: the model ignores its input"
    if err > FLIP_TOLERANCE and response < 2 * FLIP_TOLERANCE:
        # Mirroring the input barely moves the output: the model does not yet follow its input
        # (a first epoch), so its symmetry cannot be judged either way.
        return "skip", (
            f"mirror permutations are involutions; the output barely follows a mirrored input (change "
            f"{response:.2f} of the pose size), so equivariance cannot be judged: train longer"
        )
    if err <= FLIP_TOLERANCE:
        return "pass", f"mirror-equivariant on a synthetic walking person: relative error {err:.3f} <= {FLIP_TOLERANCE}"
    # A briefly trained model is only roughly equivariant; what must still hold is that the layout's
    # left/right swap explains its outputs better than no swap (a joint-order mix-up reverses that).
    unswapped = _negate_x(y_of_mirror)
    err_unswapped = float((y - unswapped).norm(dim=-1).mean()) / size
    if err < 0.5 * err_unswapped:
        return "pass", (
            f"roughly mirror-equivariant (relative error {err:.3f} > {FLIP_TOLERANCE}, but the layout's left/right "
            f"swap fits far better than none: {err_unswapped:.3f}); train longer for a tighter fit"
        )
    return "fail", (
        f"mirrored input does not give the mirrored output: relative error {err:.2f} > {FLIP_TOLERANCE}, and "
        f"{err_unswapped:.2f} without the left/right swap (are the output joints in layout "
        f"{lifter.output_layout.name!r} order?)"
    )

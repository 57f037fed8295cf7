"""Fill low-confidence and missing joints along time, one joint at a time.

A detector drops a joint for a few frames (occlusion, motion blur); a temporal lifter needs
every joint in every frame. Each joint's unusable frames (score below the threshold, or a
non-finite coordinate) are linearly interpolated between its nearest usable frames; before the
first and after the last usable frame the nearest usable value is held.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError, ShapeError

__all__ = ["DEFAULT_MIN_SCORE", "fill_gaps"]

#: Keypoints scored below this are treated as missing (MMPose's visualisers hide them below 0.3).
DEFAULT_MIN_SCORE = 0.3


def fill_gaps(
    keypoints: np.ndarray,
    scores: np.ndarray | None = None,
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    joint_names: tuple[str, ...] | None = None,
    source: str = "keypoints",
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(filled (T, J, 2) float64, was_filled (T, J) bool)``.

    A non-finite coordinate marks a missing joint; with scores it must also be scored low.

    Raises:
        DataError: a non-finite coordinate scored as confident, or a joint that is never usable in any frame (nothing to fill it from).
    """
    kp = np.array(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[-1] != 2:
        raise ShapeError(f"{source}: keypoints must be (T, J, 2), got {tuple(kp.shape)}")
    usable = np.all(np.isfinite(kp), axis=-1)
    if scores is not None:
        sc = np.asarray(scores, dtype=np.float64)
        if sc.shape != kp.shape[:2]:
            raise ShapeError(f"{source}: scores must be (T, J) = {kp.shape[:2]}, got {tuple(sc.shape)}")
        confident = np.nan_to_num(sc, nan=-np.inf) >= min_score
        broken = confident & ~usable
        if broken.any():
            t, j = (int(i) for i in np.argwhere(broken)[0])
            name = joint_names[j] if joint_names is not None else f"joint {j}"
            raise DataError(
                f"{source}: frame {t}, {name}: coordinate is NaN/inf but scored {sc[t, j]:.3g} (>= {min_score}); "
                "a missing joint must have a low score"
            )
        usable &= confident
    frames = np.arange(kp.shape[0])
    for j in range(kp.shape[1]):
        good = usable[:, j]
        if good.all():
            continue
        if not good.any():
            name = joint_names[j] if joint_names is not None else f"joint {j}"
            raise DataError(
                f"{source}: {name} is missing or scored below {min_score} in all {kp.shape[0]} frames; "
                "nothing to fill it from (lower --min-score or check the joint layout)"
            )
        for axis in range(2):
            kp[~good, j, axis] = np.interp(frames[~good], frames[good], kp[good, j, axis])
    return kp, ~usable

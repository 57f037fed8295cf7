"""What ``gastbench infer --animate`` draws: every lifted person's 2D keypoints (over the video's frames,
when given) and one 3D panel per person, laid over the whole clip (a person absent: not drawn)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .figure import Keypoints2D, PoseTrack

if TYPE_CHECKING:
    from ..people import LiftedPeople
    from .video import VideoFrames

__all__ = ["people_panels"]


def _over_clip(frames: int, first: int, values: np.ndarray) -> np.ndarray:
    out = np.full((frames,) + values.shape[1:], np.nan)
    out[first : first + values.shape[0]] = values
    return out


def people_panels(
    lifted: LiftedPeople, label: str, video: VideoFrames | None = None
) -> tuple[Keypoints2D, list[PoseTrack]]:
    """The 2D panel (all people, labelled by track id) and one 3D panel per person."""
    first = lifted.tracks[0].inputs
    pixels = np.stack([_over_clip(lifted.frames, t.inputs.first_frame, t.inputs.pixels) for t in lifted.tracks])
    labels = tuple(str(t.inputs.track_id) for t in lifted.tracks)
    title = f"2D: {first.source.rsplit('/', 1)[-1]}" + (f" over {video.info.path.name}" if video is not None else "")
    panel = Keypoints2D(pixels, first.layout, (first.width, first.height), title, labels=labels, video=video)
    tracks = [
        PoseTrack(f"track {t.inputs.track_id}: {label}" if len(lifted.tracks) > 1 else label,
                  _over_clip(lifted.frames, t.inputs.first_frame, t.poses), t.layout)
        for t in lifted.tracks
    ]  # fmt: skip
    return panel, tracks

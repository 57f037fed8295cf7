"""Keypoint files in, people out: each person's 2D keypoints over the frames they appear in (pixels).

:func:`read_people` reads any supported file (:mod:`.formats`: GAST-Net's demo JSON, MMPose,
AlphaPose, COCO results / Detectron2, an OpenPose folder, VideoPose3D's custom ``.npz``, plain
arrays), keeps everyone, tells people apart (:mod:`.tracks`) and gives one :class:`KeypointClip` per
person. :func:`read_keypoints` is the one-person case. A frame a person was not detected in, between
their first and last, is all-missing (NaN; filled later along time). The image size comes from
``width``/``height``, else the file, else ``fallback_size`` (a video's frame size).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from .detections import MAX_IMAGE_SIDE, Detections
from .formats import read_detections
from .joint_sets import joint_set_names, joints_of
from .tracks import LinkRule, tracks_of

__all__ = [
    "COCO",
    "KeypointClip",
    "People",
    "joint_names_of",
    "known_keypoint_layouts",
    "read_keypoints",
    "read_people",
]

COCO = "coco"


@dataclass(frozen=True)
class KeypointClip:
    """2D keypoints of one person in pixels of a ``width`` x ``height`` image, from clip frame ``first_frame`` on.

    ``keypoints`` may hold NaN where nothing was detected; ``scores`` is None when the file had none.
    """

    keypoints: np.ndarray  # (T, J, 2) float64 pixels
    scores: np.ndarray | None  # (T, J) float64
    width: int
    height: int
    layout: str  # a joint set of :mod:`.joint_sets` or a registered layout name
    source: str
    track_id: int = 0
    first_frame: int = 0

    @property
    def frames(self) -> int:
        return int(self.keypoints.shape[0])


@dataclass(frozen=True)
class People:
    """Everyone in a clip of ``frames`` frames: one :class:`KeypointClip` per track, by track id."""

    tracks: list[KeypointClip]
    frames: int
    format: str
    linking: str
    frames_listed: bool = True
    notes: tuple[str, ...] = field(default=())

    def track(self, track_id: int) -> KeypointClip:
        for clip in self.tracks:
            if clip.track_id == track_id:
                return clip
        raise DataError(f"{self.tracks[0].source}: no person with track id {track_id}; tracks are {self.summary()}")

    def summary(self) -> str:
        """``0 (frames 0-999), 1 (frames 12-980)``: every track and the frames it spans."""
        return ", ".join(f"{c.track_id} (frames {c.first_frame}-{c.first_frame + c.frames - 1})" for c in self.tracks)


def known_keypoint_layouts() -> list[str]:
    return joint_set_names()


def joint_names_of(layout: str) -> tuple[str, ...]:
    return joints_of(layout)


def _size(explicit: int | None, stored: int | None, fallback: int | None, what: str, source: str) -> int | None:
    for given, where in ((explicit, "given"), (stored, "stored in the file")):
        if given is not None and not 0 < given <= MAX_IMAGE_SIDE:
            raise DataError(
                f"{source}: {what} ({where}) must be a whole number of pixels in 1..{MAX_IMAGE_SIDE}, got {given!s:.40}"
            )
    return explicit or stored or fallback


def _clip(
    found: Detections, rows: np.ndarray, frames: np.ndarray, track_id: int, size: tuple[int, int]
) -> KeypointClip:
    first, span = int(frames[0]), int(frames[-1] - frames[0] + 1)
    kp = np.full((span, found.joints, 2), np.nan)
    kp[frames - first] = found.keypoints[rows]
    scores = None
    if found.scores is not None:
        scores = np.zeros((span, found.joints))
        scores[frames - first] = found.scores[rows]
    return KeypointClip(kp, scores, size[0], size[1], found.joint_set, found.source, track_id, first)


def read_people(
    path: str | Path,
    *,
    layout: str | None = None,
    width: int | None = None,
    height: int | None = None,
    sequence: str | None = None,
    link: LinkRule = LinkRule(),
    fallback_size: tuple[int, int] | None = None,
) -> People:
    """Everyone in a keypoint file (see the module doc); ``layout`` overrides the file's joint order.

    Raises:
        DataError: unreadable file, unknown key layout or joint layout, missing image size.
        ShapeError: malformed arrays, a joint count that does not match the joint order.
    """
    found = read_detections(path, layout=layout, sequence=sequence)
    w = _size(width, found.width, fallback_size[0] if fallback_size else None, "width", found.source)
    h = _size(height, found.height, fallback_size[1] if fallback_size else None, "height", found.source)
    if w is None or h is None:
        raise DataError(
            f"{found.source}: image size missing (needed for the screen normalisation the model was trained with); "
            "pass --width and --height, or --video with the clip the keypoints came from"
        )
    tracks, how = tracks_of(found, link)
    clips = [_clip(found, t.rows, t.frames, t.track_id, (w, h)) for t in tracks]
    return People(clips, found.frames, found.format, how, found.frames_listed, found.notes)


def read_keypoints(
    path: str | Path, *, layout: str | None = None, width: int | None = None, height: int | None = None
) -> KeypointClip:
    """The one person of a keypoint file, over the whole clip (see :func:`read_people` for several).

    Raises:
        DataError: as :func:`read_people`, and a file holding several people.
    """
    people = read_people(path, layout=layout, width=width, height=height)
    if len(people.tracks) != 1:
        raise DataError(
            f"{path}: holds {len(people.tracks)} people ({people.summary()}); read them with read_people (infer --person)"
        )
    clip = people.tracks[0]
    if clip.first_frame or clip.frames != people.frames:  # the clip's frames without the person stay missing
        before, after = clip.first_frame, people.frames - clip.first_frame - clip.frames
        kp = np.pad(clip.keypoints, ((before, after), (0, 0), (0, 0)), constant_values=np.nan)
        scores = None if clip.scores is None else np.pad(clip.scores, ((before, after), (0, 0)))
        clip = KeypointClip(kp, scores, clip.width, clip.height, clip.layout, clip.source, clip.track_id, 0)
    return clip

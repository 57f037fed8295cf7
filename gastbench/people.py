"""Lift everyone in a keypoint file: choose the tracks, lift each on its own, write one output for all.

Each person (track, :mod:`gastbench.keypoints.tracks`) is lifted alone over the frames from their
first to their last appearance (:func:`gastbench.infer.lift_clip`); the frames they were missed in
are filled along time like any missing joint. A track shorter than ``min_frames`` is not lifted:
with ``person="all"`` it is listed as left out (never dropped silently); asked for by number, it is
an error that says what to do.

Outputs (``gastbench-infer/2``): ``OUT.npz`` holds ``poses_3d`` ``(P, T, J, 3)`` over the whole clip
(NaN where a person is absent), ``track_ids`` ``(P,)``, ``present`` ``(P, T)``, ``keypoints_2d``
``(P, T, J_in, 2)`` (the filled pixels the model saw) and ``filled`` ``(P, T, J_in)``; ``OUT.json``
the same poses per track with where they came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ConfigError, DataError
from .infer import COORDINATES, LiftedClip, lift_clip, output_paths
from .keypoints.fill import DEFAULT_MIN_SCORE
from .keypoints.readers import KeypointClip, People
from .outputs import replacing, write_text_file

if TYPE_CHECKING:
    from .lifter import Lifter

__all__ = ["ALL", "LiftedPeople", "lift_people", "match_video", "parse_person", "save_people", "select_tracks"]

ALL = "all"
FORMAT = "gastbench-infer/2"


@dataclass(frozen=True)
class LiftedPeople:
    """Every lifted person of a clip of ``frames`` frames, and the tracks left out (with why)."""

    tracks: list[LiftedClip]
    frames: int
    people: People
    left_out: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(t.seconds for t in self.tracks)

    @property
    def lifted_frames(self) -> int:
        return sum(int(t.poses.shape[0]) for t in self.tracks)


def parse_person(text: str) -> int | str:
    """``all`` or a track id."""
    if text == ALL:
        return ALL
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(f"--person must be 'all' or a track id (0, 1, ...), got {text!r}")
    return value


def select_tracks(people: People, person: int | str, min_frames: int = 2) -> tuple[list[KeypointClip], list[str]]:
    """The tracks to lift and the ones left out (``"track 4: 1 frame (frame 17)"``); see the module doc."""
    if min_frames < 1:
        raise ConfigError(f"--min-track-frames must be >= 1, got {min_frames}")
    source = people.tracks[0].source

    def describe(clip: KeypointClip) -> str:
        last = clip.first_frame + clip.frames - 1
        frames = f"frame {clip.first_frame}" if clip.frames == 1 else f"frames {clip.first_frame}-{last}"
        return f"track {clip.track_id}: {clip.frames} frame{'s' if clip.frames != 1 else ''} ({frames})"

    fix = (
        f"a lifter needs at least {min_frames} frames of one person: choose another --person ({people.summary()}), "
        "or link people differently (--max-gap, --min-similarity)"
    )
    if person != ALL:
        clip = people.track(int(person))
        if clip.frames < min_frames:
            raise DataError(f"{source}: {describe(clip)}; {fix}")
        return [clip], []
    chosen = [c for c in people.tracks if c.frames >= min_frames]
    left_out = [
        describe(c) + f", shorter than --min-track-frames {min_frames}" for c in people.tracks if c.frames < min_frames
    ]
    if not chosen:
        raise DataError(
            f"{source}: every person is a track of fewer than {min_frames} frames ({'; '.join(left_out)}); {fix}"
        )
    return chosen, left_out


def match_video(people: People, video: str | Path, frames: int, size: tuple[int, int]) -> People:
    """``people`` checked against the video they are drawn over: same image size, same frame count.

    A format that leaves out frames nobody was in (GAST-Net's demo, COCO results, AlphaPose) may end
    before the video does; its clip is then the video's length.

    Raises:
        DataError: the two differ, naming both files and what to do.
    """
    clip = people.tracks[0]
    source = clip.source
    if (clip.width, clip.height) != tuple(size):
        raise DataError(
            f"{source}: keypoints are for {clip.width}x{clip.height} images, but {video} is {size[0]}x{size[1]}; "
            "pass the video the keypoints were made from (or drop --width/--height)"
        )
    if people.frames > frames or (people.frames_listed and people.frames != frames):
        raise DataError(
            f"{source}: keypoints cover {people.frames} frames, but {video} has {frames}; they must come from the "
            "same video: pass that video, or cut the keypoints to its frames"
        )
    if people.frames == frames:
        return people
    return replace(people, frames=frames)


def lift_people(
    lifter: Lifter,
    people: People,
    *,
    person: int | str = ALL,
    min_frames: int = 2,
    weights: dict[str, Any] | None = None,
    train_stride: int = 1,
    min_score: float = DEFAULT_MIN_SCORE,
    flip: bool = True,
    device: str = "cpu",
    causal: bool = False,
) -> LiftedPeople:
    """Lift the chosen tracks of ``people``, each on its own (see the module doc)."""
    chosen, left_out = select_tracks(people, person, min_frames)
    lifted = [
        lift_clip(lifter, clip, weights=weights, train_stride=train_stride, min_score=min_score, flip=flip, device=device,
                  causal=causal)
        for clip in chosen
    ]  # fmt: skip
    return LiftedPeople(lifted, people.frames, people, left_out)


def _over_clip(lifted: LiftedPeople, values: list[np.ndarray], fill: Any) -> np.ndarray:
    """Per-track arrays laid over the whole clip: ``(P, T, ...)``, ``fill`` where a person is absent."""
    out = np.full((len(values), lifted.frames) + values[0].shape[1:], fill, dtype=np.result_type(values[0], type(fill)))
    for p, (track, value) in enumerate(zip(lifted.tracks, values)):
        first = track.inputs.first_frame
        out[p, first : first + value.shape[0]] = value
    return out


def save_people(lifted: LiftedPeople, out: str | Path, *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write ``<out>.npz`` and ``<out>.json`` (module doc); never overwrite silently."""
    npz_path, json_path = output_paths(out)
    existing = [str(p) for p in (npz_path, json_path) if p.exists()]
    if existing and not overwrite:
        raise ConfigError(f"{', '.join(existing)} already exist(s); pass --overwrite to replace")
    first = lifted.tracks[0]
    layout, inputs = first.layout, first.inputs
    poses = _over_clip(lifted, [t.poses.astype(np.float32) for t in lifted.tracks], np.float32(np.nan))
    present = _over_clip(lifted, [np.ones(t.poses.shape[0], bool) for t in lifted.tracks], False)
    with replacing(npz_path, "wb") as handle:
        np.savez_compressed(
            handle,
            poses_3d=poses,
            track_ids=np.array([t.inputs.track_id for t in lifted.tracks], dtype=np.int64),
            present=present,
            joint_names=np.array(layout.joint_names),
            parents=np.array(layout.parents),
            keypoints_2d=_over_clip(
                lifted, [t.inputs.pixels.astype(np.float32) for t in lifted.tracks], np.float32(np.nan)
            ),
            filled=_over_clip(lifted, [t.inputs.filled for t in lifted.tracks], False),
            width=np.int64(inputs.width),
            height=np.int64(inputs.height),
        )
    people = lifted.people
    record = {
        "format": FORMAT,
        "model": first.model,
        "weights": first.weights,
        "train_stride": first.train_stride,
        "source": inputs.source,
        "source_format": people.format,
        "people": people.linking,
        "notes": list(people.notes),
        "image_size": [inputs.width, inputs.height],
        "layout": layout.name,
        "joint_names": list(layout.joint_names),
        "parents": list(layout.parents),
        "coordinates": COORDINATES,
        "frames": lifted.frames,
        "left_out": lifted.left_out,
        "tracks": [
            {
                "track_id": t.inputs.track_id,
                "first_frame": t.inputs.first_frame,
                "frames": int(t.poses.shape[0]),
                "filled_joints": int(t.inputs.filled.sum()),
                "poses_3d": np.round(t.poses.astype(np.float64), 5).tolist(),
            }
            for t in lifted.tracks
        ],
    }
    write_text_file(json_path, json.dumps(record, separators=(",", ":")) + "\n")
    return npz_path, json_path

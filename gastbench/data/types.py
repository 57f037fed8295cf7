"""The two data records every consumer sees: one camera view of one sequence, and a dataset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from ..skeleton import Skeleton

__all__ = ["PoseSequence", "PoseDataset"]


@dataclass(frozen=True, eq=False)
class PoseSequence:
    """One sequence seen by one camera.

    Arrays are read-only float32 (they may be shared with the dataset's cache).

    Attributes:
        subject: ``"S9"``; HumanEva ``"S1"`` (the Train/Validate split is kept by the dataset).
        action: folded action used in tables (``"Walking"`` for ``"Walking 1"``; HumanEva ``"Walk"``).
        name: original sequence name (``"Walking 1"``, HumanEva ``"Walking 1 chunk0"``).
        camera: camera id (``"54138969"``, HumanEva ``"C1"``).
        keypoints_2d: ``(T, J_in, 2)`` screen-normalized: ``x/w*2-1``, ``y/w*2-h/w``.
        positions_3d: ``(T, J_3d, 3)`` camera coordinates in metres, root-relative (root exactly 0).
        trajectory: ``(T, 3)`` root position in camera coordinates, metres.
        scored: ``(T,)`` bool, the frames a protocol scores (MPI-INF-3DHP's ``valid_frame``); the
            model still sees every frame. None: every frame is scored.
    """

    subject: str
    action: str
    name: str
    camera: str
    keypoints_2d: np.ndarray
    positions_3d: np.ndarray
    trajectory: np.ndarray
    scored: np.ndarray | None = None

    @property
    def frames(self) -> int:
        return int(self.positions_3d.shape[0])

    def __repr__(self) -> str:
        return (
            f"PoseSequence({self.subject}/{self.name}/{self.camera}, action={self.action!r}, frames={self.frames}, "
            f"2d={tuple(self.keypoints_2d.shape)}, 3d={tuple(self.positions_3d.shape)})"
        )


@dataclass(eq=False)
class PoseDataset:
    """A dataset with one 2D input, built lazily one subject at a time.

    Attributes:
        name: ``"h36m"``, ``"humaneva"`` or ``"synthetic"``.
        input: 2D input name (``"gt"``, ``"cpn"``, ``"sh"``, ``"sh_pt_mpii"``, ...).
        layout_2d / layout_3d: joint layouts of the 2D keypoints and the 3D targets.
        fps: frame rate of the sequences.
        source_2d: file name of the 2D source (``"projected:<3d file>"``, ``"synthetic"``).
        source_2d_sha256: sha256 of that file (of the 3D file when projected; of the arrays when synthetic).
        skipped: human-readable sequences left out and why.
        synthetic: True for generated data.
        table_actions: the protocol's table actions in table order (HumanEva: Walk, Jog, Box).
        notes: other remarks, e.g. sequences trimmed to the shorter of their 2D and 3D frame counts.
        annotation_3d: which of a dataset's 3D annotations the targets are (MPI-INF-3DHP:
            ``univ_annot3`` or ``annot3``); empty for datasets with one.
        extra_metrics: per-frame metrics the dataset's papers report beyond the position errors
            (``("pck", "auc")`` for MPI-INF-3DHP, :mod:`gastbench.metrics_pck`).
    """

    name: str
    input: str
    layout_2d: Skeleton
    layout_3d: Skeleton
    fps: float
    source_2d: str
    source_2d_sha256: str
    skipped: list[str]
    synthetic: bool
    table_actions: tuple[str, ...] = ()
    #: other remarks on how the data was assembled (e.g. frame counts trimmed to the shorter of 2D and 3D)
    notes: list[str] = field(default_factory=list)
    #: (split, subject, why) for each sequence the evaluation of that subject cannot cover in full:
    #: a sequence missing from the 2D file, a trim beyond the tolerance (allowed with ``allow_trim``)
    incomplete: list[tuple[str, str, str]] = field(default_factory=list)
    #: the files the dataset was read from (absolute paths): outputs must never replace them
    files: list[str] = field(default_factory=list)
    annotation_3d: str = ""
    extra_metrics: tuple[str, ...] = ()
    #: split -> subject ids (in order)
    split_subjects: dict[str, list[str]] = field(default_factory=dict, repr=False)
    #: (split, subject) -> sequences; called once per key, then cached
    build: Callable[[str, str], list[PoseSequence]] | None = field(default=None, repr=False)
    _cache: dict[tuple[str, str], list[PoseSequence]] = field(default_factory=dict, repr=False)

    def _check_split(self, split: str) -> None:
        if split not in self.split_subjects:
            raise ConfigError(f"dataset {self.name!r} has no split {split!r}; splits are {sorted(self.split_subjects)}")

    def subjects(self, split: str) -> list[str]:
        """Subjects of ``split`` ("train" or "test")."""
        self._check_split(split)
        return list(self.split_subjects[split])

    def _subject_sequences(self, split: str, subject: str) -> list[PoseSequence]:
        key = (split, subject)
        if key not in self._cache:
            if self.build is None:
                raise ConfigError(f"dataset {self.name!r} has no sequence builder")
            self._cache[key] = self.build(split, subject)
        return self._cache[key]

    def sequences(
        self, split: str = "test", subjects: list[str] | None = None, actions: list[str] | None = None
    ) -> list[PoseSequence]:
        """Sequences of ``split``, optionally restricted to subjects and folded action names."""
        self._check_split(split)
        known = self.split_subjects[split]
        chosen = known if subjects is None else list(subjects)
        unknown = [s for s in chosen if s not in known]
        if unknown:
            raise ConfigError(f"dataset {self.name!r} split {split!r} has no subjects {unknown}; subjects are {known}")
        out: list[PoseSequence] = []
        for subject in chosen:
            for seq in self._subject_sequences(split, subject):
                if actions is None or seq.action in actions:
                    out.append(seq)
        return out

    def all_actions(self, split: str = "test") -> list[str]:
        """Every folded action present in ``split``: table actions first, then the rest sorted."""
        present = {s.action for s in self.sequences(split)}
        ordered = [a for a in self.table_actions if a in present]
        return ordered + sorted(present - set(ordered))

    def actions(self, split: str = "test") -> list[str]:
        """Folded action names of the protocol's table present in ``split``, in table order."""
        present = {s.action for s in self.sequences(split)}
        if not self.table_actions:
            return sorted(present)
        return [a for a in self.table_actions if a in present]

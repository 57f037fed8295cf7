"""Small fakes for the evaluation tests: a tiny temporal lifter and an in-memory dataset."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gastbench.data.types import PoseDataset, PoseSequence
from gastbench.lifter import Lifter, LifterMetadata, PaperConvention
from gastbench.skeleton import H36M_16, H36M_17, HUMANEVA_15, Skeleton


class TinyLifter(Lifter):
    """A valid temporal convolution ``(B,T,J,2) -> (B,T-RF+1,J_out,3)`` with a non-linearity."""

    def __init__(
        self,
        layout: Skeleton = H36M_17,
        output: Skeleton | None = None,
        rf: int = 9,
        causal: bool = False,
        convention: PaperConvention | None = None,
        seed: int = 0,
    ) -> None:
        output = output or layout
        super().__init__(
            input_layout=layout,
            output_layout=output,
            receptive_field=rf,
            causal=causal,
            metadata=LifterMetadata(family="tiny", paper="test", convention=convention or PaperConvention()),
        )
        gen = torch.Generator().manual_seed(seed)
        self.conv = nn.Conv1d(layout.num_joints * 2, 32, rf)
        self.out = nn.Conv1d(32, output.num_joints * 3, 1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
        self.name = "tiny"

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        h = torch.tanh(self.conv(x.reshape(b, t, -1).transpose(1, 2)))
        y = self.out(h).transpose(1, 2)
        return y.reshape(b, y.shape[1], self.output_layout.num_joints, 3)


class CentreLifter(Lifter):
    """Outputs ``(x, y, 0)`` of the window's centre (or last, when causal) frame: flip-equivariant."""

    def __init__(self, layout: Skeleton = H36M_17, rf: int = 5, causal: bool = False) -> None:
        super().__init__(
            input_layout=layout,
            output_layout=layout,
            receptive_field=rf,
            causal=causal,
            metadata=LifterMetadata(family="centre", paper="test"),
        )
        self.name = "centre"

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        start = self.pad + self.causal_shift
        centre = x[:, start : x.shape[1] - (self.receptive_field - 1) + start]
        return torch.cat([centre, torch.zeros_like(centre[..., :1])], dim=-1)


def make_sequences(
    subjects: list[str],
    actions: list[str],
    layout_2d: Skeleton,
    layout_3d: Skeleton,
    cameras: tuple[str, ...] = ("c1", "c2"),
    seed: int = 0,
    min_frames: int = 3,
    max_frames: int = 40,
) -> dict[str, list[PoseSequence]]:
    """Random smooth-ish sequences; 2D = the 3D joints matched by name (x, y) plus noise."""
    rng = np.random.default_rng(seed)
    index = layout_2d.indices_in(layout_3d) if all(n in layout_3d.joint_names for n in layout_2d.joint_names) else None
    out: dict[str, list[PoseSequence]] = {}
    for subject in subjects:
        seqs = []
        for action in actions:
            for take in (1, 2):
                frames = int(rng.integers(min_frames, max_frames))
                for cam in cameras:
                    pos = np.cumsum(rng.normal(scale=0.02, size=(frames, layout_3d.num_joints, 3)), axis=0)
                    pos += rng.normal(scale=0.3, size=(1, layout_3d.num_joints, 3))
                    pos -= pos[:, layout_3d.root : layout_3d.root + 1]
                    if index is not None:
                        kp = pos[:, list(index), :2] + rng.normal(scale=0.01, size=(frames, layout_2d.num_joints, 2))
                    else:
                        kp = rng.normal(scale=0.3, size=(frames, layout_2d.num_joints, 2))
                    seqs.append(
                        PoseSequence(
                            subject=subject,
                            action=action,
                            name=f"{action} {take}",
                            camera=cam,
                            keypoints_2d=kp.astype(np.float32),
                            positions_3d=pos.astype(np.float32),
                            trajectory=np.zeros((frames, 3), np.float32),
                        )
                    )
        out[subject] = seqs
    return out


def fake_dataset(
    name: str = "fake",
    layout_2d: Skeleton = H36M_17,
    layout_3d: Skeleton = H36M_17,
    subjects: tuple[str, ...] = ("S9", "S11"),
    actions: tuple[str, ...] = ("Directions", "Walking", "Eating"),
    table_actions: tuple[str, ...] = (),
    seed: int = 0,
    **kwargs: object,
) -> PoseDataset:
    seqs = make_sequences(list(subjects), list(actions), layout_2d, layout_3d, seed=seed, **kwargs)  # type: ignore[arg-type]
    return PoseDataset(
        name=name,
        input="gt",
        layout_2d=layout_2d,
        layout_3d=layout_3d,
        fps=50.0,
        source_2d="synthetic",
        source_2d_sha256="0" * 64,
        skipped=["S9/Skipped 1 (test)"],
        synthetic=True,
        table_actions=table_actions,
        split_subjects={"train": [], "test": list(subjects)},
        build=lambda split, subject: seqs[subject],
    )


def humaneva_dataset() -> PoseDataset:
    return fake_dataset(
        name="humaneva",
        layout_2d=HUMANEVA_15,
        layout_3d=HUMANEVA_15,
        subjects=("S1", "S2", "S3"),
        actions=("Walk", "Jog", "Box", "Gestures"),
        table_actions=("Walk", "Jog", "Box"),
        cameras=("C1", "C2", "C3"),
    )


__all__ = [
    "TinyLifter",
    "CentreLifter",
    "fake_dataset",
    "humaneva_dataset",
    "make_sequences",
    "H36M_16",
    "H36M_17",
    "HUMANEVA_15",
]

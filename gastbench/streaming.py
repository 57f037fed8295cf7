"""Live lifting: one 2D frame in, that frame's 3D pose out, from a model that never looks ahead.

Which models can run live, and why:

- **causal temporal models** (``gast-*-causal``, ``videopose3d-*-causal``): the output for frame ``t``
  depends on frames ``t - RF + 1 .. t`` only, so it is ready as soon as frame ``t`` arrives;
- **frame models** (``semgcn``, ``martinez``; receptive field 1): each frame on its own;
- **not** the non-causal temporal models (``gast-t27``, ``videopose3d-t243``, PoseFormer): their
  output for frame ``t`` is the centre of a window reaching ``(RF - 1) / 2`` frames into the
  future (121 frames, about 2.4 s at 50 fps, for a 243-frame model), so frame ``t`` can only be
  answered that much later; train or convert their ``-causal`` variant instead;
- **not** the sequence-to-sequence models (MixSTE, MotionBERT): one forward lifts a whole clip of
  up to 243 frames, every output frame seeing the frames after it;
- MotionBERT also predicts 2.5D, which needs each frame's distance from the camera.

:class:`StreamingLifter` keeps the last ``RF`` frames (``(RF - 1) * train_stride + 1`` for a model
trained at a frame stride) and runs the model on that one window per frame; until the window is
full, the first frame stands in for the missing past. That is exactly how the offline engine pads
a clip's start (:mod:`gastbench.evaluation.inference`), so the streamed poses equal the offline
causal ones (``tests/test_streaming.py``: within 1e-5 m), with flip averaging as offline.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch

from .errors import ConfigError, ShapeError
from .evaluation.device import deterministic, resolve_device
from .evaluation.protocol import flip_average
from .lifter import Lifter

__all__ = ["StreamingLifter", "streaming_problem"]


def streaming_problem(lifter: Lifter) -> str | None:
    """Why ``lifter`` cannot run live (None: it can); see the module doc."""
    name = lifter.name or type(lifter).__name__
    if lifter.clip_frames is not None:
        return f"{name} lifts whole clips of {lifter.clip_frames} frames (every output sees later frames); it cannot run live"
    if lifter.output_scale != "metres":
        return f"{name} predicts {lifter.output_scale}; metres need each frame's distance from the camera"
    if lifter.receptive_field > 1 and not lifter.causal:
        ahead = (lifter.receptive_field - 1) // 2
        return (
            f"{name} is not causal: its output for frame t needs {ahead} later frames; "
            f"use its causal variant ({name}-causal) or a frame model (semgcn, martinez)"
        )
    return None


class StreamingLifter:
    """Lift one screen-normalised 2D frame ``(J_in, 2)`` at a time to root-relative metres ``(J_out, 3)``.

    Example::

        live = gastbench.StreamingLifter(gastbench.create_lifter("gast-t27-causal", layout="h36m"))
        for frame in frames:  # (17, 2) each, normalised as x / w * 2 - 1, y / w * 2 - h / w
            pose = live.push(frame)  # (17, 3) float32, that frame's pose
    """

    def __init__(self, lifter: Lifter, *, train_stride: int = 1, flip: bool = True, device: str = "cpu") -> None:
        problem = streaming_problem(lifter)
        if problem is not None:
            raise ConfigError(problem)
        if isinstance(train_stride, bool) or not isinstance(train_stride, int) or train_stride < 1:
            raise ConfigError(f"train_stride must be an integer >= 1, got {train_stride!r}")
        self.lifter, self.flip, self.train_stride = lifter, flip, train_stride
        self.device = resolve_device(device)
        self.history = (lifter.receptive_field - 1) * train_stride + 1
        self._past: deque[np.ndarray] = deque(maxlen=self.history)
        self._first: list[np.ndarray] = []  # each stride phase's first frame: the padding of its start
        self.frames_seen = 0

    def reset(self) -> None:
        """Forget the past: the next frame starts a new clip."""
        self._past.clear()
        self._first.clear()
        self.frames_seen = 0

    def _window(self) -> np.ndarray:
        t, s, rf = self.frames_seen - 1, self.train_stride, self.lifter.receptive_field
        past = list(self._past)
        frames = []
        for k in range(rf - 1, -1, -1):  # oldest first: frames t - k*s
            back = k * s
            frames.append(past[len(past) - 1 - back] if back <= t else self._first[t % s])
        return np.stack(frames)

    def push(self, keypoints_2d: np.ndarray) -> np.ndarray:
        """This frame's root-relative pose ``(J_out, 3)`` float32, metres, camera frame."""
        frame = np.asarray(keypoints_2d, dtype=np.float32)
        j_in = self.lifter.input_layout.num_joints
        if frame.shape != (j_in, 2):
            raise ShapeError(
                f"a frame must be ({j_in}, 2) for layout {self.lifter.input_layout.name!r}, got {frame.shape}"
            )
        if not np.all(np.isfinite(frame)):
            raise ShapeError("a frame holds NaN or inf; fill missing joints before lifting")
        if len(self._first) < self.train_stride:
            self._first.append(frame)
        self._past.append(frame)
        self.frames_seen += 1
        x = torch.from_numpy(self._window()[None])  # (1, RF, J, 2)
        lifter, layout = self.lifter, self.lifter.output_layout
        was_training = lifter.training
        lifter.eval()
        try:
            with torch.inference_mode(), deterministic(self.device):
                x = x.to(self.device)
                if self.flip:
                    y = lifter(torch.cat([x, lifter.input_layout.mirror(x)]), mode="dilated")
                    y = flip_average(y[:1], y[1:], layout)
                else:
                    y = lifter(x, mode="dilated")
        finally:
            lifter.train(was_training)
        pose = y.reshape(-1, layout.num_joints, 3)[-1].to("cpu", torch.float32).numpy()
        return pose - pose[layout.root]

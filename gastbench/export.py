"""ONNX export of a lifter, checked with onnxruntime against torch, with a JSON sidecar.

``gastbench export MODEL --weights W --onnx OUT.onnx`` writes ``OUT.onnx`` and ``OUT.json``. What the
ONNX graph computes, by the kind of lifter:

- ``"sequence"``: a windowed lifter with a dynamic time axis, ``(B, T, J, 2) -> (B, T - RF + 1, J, 3)``
  (a valid temporal convolution: pad a sequence's ends by ``(RF - 1) / 2`` repeated frames to get a
  pose for every frame, as gastbench's evaluation does);
- ``"window"``: a windowed lifter whose graph cannot keep the time axis dynamic (PoseFormer slides its
  temporal transformer with ``unfold``, which the exporter cannot trace at an unknown length): one
  window per item, ``(B, RF, J, 2) -> (B, 1, J, 3)``, time fixed;
- ``"clip"``: a sequence-to-sequence lifter, ``(B, L, J, 2) -> (B, L, J, 3)``; ``L`` fixed at the
  clip length (MixSTE) or dynamic up to it (MotionBERT).

The batch axis is always dynamic. The graph is the model alone: no flip augmentation, no root
re-centring, no 2.5D scaling (the sidecar says what the output is). Whether the time axis is dynamic
is tried, not assumed: a graph that fails to export or disagrees with torch at a second length is
exported fixed instead, and the sidecar gives the reason. The check runs the ONNX graph with
onnxruntime on real 2D sequences (every frame, cut as the evaluation cuts them) and requires the
largest difference from torch within :data:`TOLERANCE_M` metres.

``onnx`` and ``onnxruntime`` are the optional extra ``export`` (``pip install "gastbench[export]"``);
the exporter itself is torch's (its TorchScript-based ``torch.onnx.export(..., dynamo=False)``).
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .errors import ConfigError
from .evaluation.clips import plan_clips
from .lifter import Lifter

__all__ = [
    "DEFAULT_OPSET",
    "EXPORT_INSTALL_HINT",
    "TOLERANCE_M",
    "ExportResult",
    "check_onnx",
    "export_model",
    "export_onnx",
    "write_sidecar",
]

log = logging.getLogger(__name__)

DEFAULT_OPSET = 17
TOLERANCE_M = 1e-4
EXPORT_INSTALL_HINT = 'ONNX export needs onnx and onnxruntime: pip install "gastbench[export]"'
INPUT, OUTPUT = "keypoints_2d", "poses_3d"
#: The 2D input every gastbench lifter takes (VideoPose3D's ``normalize_screen_coordinates``).
NORMALISATION_2D = {
    "name": "screen-normalised pixels",
    "formula": "x_n = x_px / w * 2 - 1; y_n = y_px / w * 2 - h / w (w, h: image width and height in pixels)",
    "reference": "gastbench.data.cameras.normalize_screen_coordinates",
    "channels": ["x", "y"],
    "note": "both axes are divided by the width: y spans [-h/w, h/w]; no centring on the person, no per-clip scaling",
}


def onnx_modules() -> tuple[Any, Any]:
    """``(onnx, onnxruntime)``, or a ConfigError naming the extra."""
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise ConfigError(f"{EXPORT_INSTALL_HINT} ({exc})") from None
    return onnx, onnxruntime


@dataclass
class ExportResult:
    """What was exported and how it was checked: the sidecar's content."""

    model: str
    family: str
    layout: str
    joints: list[str]
    kind: str  # "sequence", "window" or "clip"
    opset: int
    dynamic_time: bool
    time_note: str
    input: dict[str, Any]
    output: dict[str, Any]
    dynamic_axes: dict[str, dict[str, str]]
    receptive_field: int
    clip_frames: int | None
    normalisation_2d: dict[str, Any] = field(default_factory=lambda: dict(NORMALISATION_2D))
    weights: dict[str, Any] | None = None
    check: dict[str, Any] | None = None
    versions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Graph(nn.Module):
    """The lifter's forward in one mode, the thing ONNX records."""

    def __init__(self, lifter: Lifter, mode: str) -> None:
        super().__init__()
        self.lifter, self.mode = lifter, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lifter(x, mode=self.mode)


def _trace(lifter: Lifter, kind: str, frames: int, opset: int, dynamic_time: bool) -> bytes:
    """The ONNX bytes of ``lifter`` traced at ``frames`` input frames."""
    example = torch.zeros(1, frames, lifter.input_layout.num_joints, 2)
    axes = {INPUT: {0: "batch"}, OUTPUT: {0: "batch"}}
    if dynamic_time:
        axes[INPUT][1], axes[OUTPUT][1] = "frames", "frames_out" if kind == "sequence" else "frames"
    buffer = io.BytesIO()
    graph = _Graph(lifter, "strided" if kind == "window" else "dilated").eval()
    # Autograd on: GAST-Net then takes its plain graph (the fused CPU path calls BLAS outside torch).
    with warnings.catch_warnings(), torch.enable_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph, (example,), buffer,  # type: ignore[arg-type]  # torch.onnx.export writes file objects too
            input_names=[INPUT], output_names=[OUTPUT], dynamic_axes=axes,
            opset_version=opset, dynamo=False,
        )  # fmt: skip
    return buffer.getvalue()


def _agrees_at(lifter: Lifter, model: bytes, frames: int) -> bool:
    """Whether the ONNX graph matches torch at another input length (a time axis really dynamic)."""
    _onnx, ort = onnx_modules()
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    x = torch.from_numpy(
        np.random.default_rng(0).uniform(-0.5, 0.5, (2, frames, lifter.input_layout.num_joints, 2)).astype(np.float32)
    )
    with torch.inference_mode():
        expected = lifter(x, mode="dilated").numpy()
    try:
        got = session.run(None, {INPUT: x.numpy()})[0]
    except Exception:  # onnxruntime's own errors: a shape baked into the graph
        return False
    return got.shape == expected.shape and float(np.abs(got - expected).max()) <= TOLERANCE_M


def export_onnx(lifter: Lifter, out: str | Path, *, opset: int = DEFAULT_OPSET) -> ExportResult:
    """Write ``lifter`` (eval mode) to ``out`` as ONNX; return what was exported (see the module doc)."""
    onnx, ort = onnx_modules()
    was_training = lifter.training
    lifter.eval()
    rf, joints = lifter.receptive_field, lifter.input_layout.num_joints
    try:
        if lifter.clip_frames is not None:
            kind, frames, dynamic, note = "clip", lifter.clip_frames, lifter.shorter_clips, ""
            if not dynamic:
                note = f"fixed: the model takes clips of exactly {frames} frames (its temporal position embedding)"
            model = _trace(lifter, kind, frames, opset, dynamic)
            if dynamic and not _agrees_at(lifter, model, max(1, frames // 3)):
                raise ConfigError(f"{lifter.name}: the ONNX graph does not follow shorter clips; export failed")
            note = note or f"dynamic: clips of 1 to {frames} frames"
        else:
            kind, frames = "sequence", rf + 16
            try:
                model = _trace(lifter, kind, frames, opset, dynamic_time=True)
                dynamic = _agrees_at(lifter, model, rf + 40)
                reason = "" if dynamic else "the graph exported at one length disagrees with torch at another"
            except Exception as exc:  # the exporter's own errors: an operator it cannot trace at an unknown length
                dynamic, reason = (
                    False,
                    (str(exc).strip().splitlines() or [type(exc).__name__])[0].split(" [Caused by")[0][:300],
                )
            if dynamic:
                note = f"dynamic: T >= {rf} input frames give T - {rf - 1} output frames"
            else:
                kind, frames = "window", rf
                model = _trace(lifter, kind, frames, opset, dynamic_time=False)
                note = f"fixed: one {rf}-frame window per item, one output frame (dynamic time failed: {reason})"
                dynamic = False
                log.info("%s: time axis exported fixed (%s)", lifter.name, reason)
    finally:
        lifter.train(was_training)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(model)
    onnx.checker.check_model(onnx.load_model_from_string(model))
    time_in = "frames" if dynamic else frames
    time_out = ("frames_out" if kind == "sequence" else "frames") if dynamic else (1 if kind == "window" else frames)
    axes = {INPUT: {"0": "batch"}, OUTPUT: {"0": "batch"}}
    if dynamic:
        axes[INPUT]["1"], axes[OUTPUT]["1"] = str(time_in), str(time_out)
    units = (
        "root-relative 3D in the input's screen-normalised units (image-2.5d): multiply by res_w / 2 and by the "
        "frame's 2.5D factor (mm per pixel at the person's depth) for millimetres"
        if lifter.output_scale == "image-2.5d"
        else "metres, camera coordinates, root-relative (as predicted: the root is not re-centred)"
    )
    return ExportResult(
        model=lifter.name or type(lifter).__name__,
        family=lifter.family,
        layout=lifter.input_layout.name,
        joints=list(lifter.input_layout.joint_names),
        kind=kind,
        opset=opset,
        dynamic_time=dynamic,
        time_note=note,
        input={"name": INPUT, "shape": ["batch", time_in, joints, 2], "dtype": "float32"},
        output={
            "name": OUTPUT,
            "shape": ["batch", time_out, lifter.output_layout.num_joints, 3],
            "dtype": "float32",
            "units": units,
            "layout": lifter.output_layout.name,
            "flip_augmentation": "not included",
        },  # fmt: skip
        dynamic_axes=axes,
        receptive_field=rf,
        clip_frames=lifter.clip_frames,
        versions={"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__},
    )


def _pieces(lifter: Lifter, kind: str, kp: np.ndarray) -> list[np.ndarray]:
    """A sequence cut as the evaluation cuts it, into the inputs the exported graph takes: ``(B, T, J, 2)`` each."""
    if kind == "clip":
        assert lifter.clip_frames is not None
        plan = plan_clips(kp.shape[0], lifter.clip_frames, lifter.clip_tail)
        padded = np.pad(kp, ((0, plan.pad_right), (0, 0), (0, 0)), mode="edge")
        return [padded[a:b][None] for a, b in plan.clips]
    left, right = lifter.pad + lifter.causal_shift, lifter.pad - lifter.causal_shift
    padded = np.pad(kp, ((left, right), (0, 0), (0, 0)), mode="edge")
    if kind == "sequence":
        return [padded[None]]
    windows = np.lib.stride_tricks.sliding_window_view(padded, lifter.receptive_field, axis=0)  # (T, J, 2, RF)
    windows = np.ascontiguousarray(windows.transpose(0, 3, 1, 2))
    return [windows[i : i + 256] for i in range(0, len(windows), 256)]


def check_onnx(
    lifter: Lifter,
    model_path: str | Path,
    result: ExportResult,
    sequences: list[np.ndarray],
    metres_per_unit: list[np.ndarray] | None = None,
    tolerance_m: float = TOLERANCE_M,
) -> dict[str, Any]:
    """Run the ONNX graph on whole 2D sequences ``[(T, J, 2)]`` and compare with torch; a ConfigError beyond tolerance.

    ``metres_per_unit`` (one ``(T,)`` array per sequence) converts a 2.5D model's differences to metres.
    """
    _onnx, ort = onnx_modules()
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    worst, frames = 0.0, 0
    was_training = lifter.training
    lifter.eval()
    try:
        for k, kp in enumerate(sequences):
            kp = np.ascontiguousarray(kp, dtype=np.float32)
            scale = float(np.max(metres_per_unit[k])) if metres_per_unit is not None else 1.0
            for piece in _pieces(lifter, result.kind, kp):
                got = session.run(None, {INPUT: piece})[0]
                with torch.inference_mode():
                    expected = lifter(
                        torch.from_numpy(np.array(piece)), mode="strided" if result.kind == "window" else "dilated"
                    ).numpy()
                if got.shape != expected.shape:
                    raise ConfigError(
                        f"{result.model}: ONNX output {got.shape} but torch {expected.shape} for input {piece.shape}"
                    )
                worst = max(worst, float(np.abs(got - expected).max()) * scale)
            frames += kp.shape[0]
    finally:
        lifter.train(was_training)
    check = {"onnxruntime": ort.__version__, "sequences": len(sequences), "frames": frames,
             "max_abs_diff_m": worst, "tolerance_m": tolerance_m, "passed": worst <= tolerance_m}  # fmt: skip
    if worst > tolerance_m:
        raise ConfigError(
            f"{result.model}: the ONNX graph differs from torch by {worst:.3g} m on {len(sequences)} sequence(s), "
            f"beyond {tolerance_m:g} m; {model_path} was not verified"
        )
    return check


def write_sidecar(result: ExportResult, path: str | Path) -> Path:
    """The JSON beside the ONNX file: opset, shapes, dynamic axes, the 2D normalisation, the check."""
    path = Path(path)
    path.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path


def export_model(
    name: str,
    out: str | Path,
    *,
    weights: str | Path | None = None,
    random_init: bool = False,
    seed: int = 0,
    dataset: str = "h36m",
    input: str = "gt",
    data_dir: str | Path | None = None,
    check_sequences: int = 4,
    opset: int = DEFAULT_OPSET,
    overwrite: bool = False,
) -> tuple[ExportResult, Path]:
    """Build ``name`` with its weights, export it to ``out`` and check it on the first test sequences of a dataset.

    The model is built for the dataset's 2D layout as ``gastbench eval`` builds it. The sidecar
    (``out`` with ``.json``) is written only once the check passed; a failed check removes ``out``.
    Returns the result and the sidecar's path.
    """
    from .data import load_dataset
    from .evaluation.scale25d import metres_per_image_unit
    from .outputs import check_distinct, check_output_file
    from .pretrained import resolve_lifter

    if check_sequences < 1:
        raise ConfigError(f"check_sequences must be >= 1, got {check_sequences}")
    reads = [weights] if weights is not None else []
    out = check_output_file(out, "--onnx", overwrite=overwrite, inputs=reads, suffix=".onnx")
    sidecar = check_output_file(out.with_suffix(".json"), "the sidecar JSON", overwrite=overwrite, inputs=reads)
    check_distinct([("--onnx", out), ("sidecar", sidecar)])
    onnx_modules()  # before any work
    data = load_dataset(dataset, input, data_dir)
    for path in (out, sidecar):
        check_output_file(path, "--onnx", overwrite=overwrite, inputs=[*reads, *data.files])
    lifter, info = resolve_lifter(
        name,
        dataset=dataset,
        input=data.input,
        layout=data.layout_2d,
        weights=weights,
        random_init=random_init,
        seed=seed,
    )
    result = export_onnx(lifter, out, opset=opset)
    result.weights = info.to_dict()
    sequences = data.sequences("test")[:check_sequences]
    index = (
        None
        if lifter.input_layout.name == data.layout_2d.name
        else list(lifter.input_layout.indices_in(data.layout_2d))
    )
    keypoints = [np.asarray(s.keypoints_2d if index is None else s.keypoints_2d[:, index]) for s in sequences]
    scales = [metres_per_image_unit(data.name, s) for s in sequences] if lifter.output_scale == "image-2.5d" else None
    try:
        check = check_onnx(lifter, out, result, keypoints, scales)
    except ConfigError:
        out.unlink(missing_ok=True)
        raise
    check["data"] = f"{data.name} ({data.input}), test split, first {len(sequences)} sequence(s), every frame"
    check["synthetic"] = bool(data.synthetic)
    result.check = check
    return result, write_sidecar(result, sidecar)

"""``gastbench infer``: lift your own 2D keypoints with a lifter, over :mod:`gastbench.infer`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .options import DEVICE, MODEL, OFFLINE, OVERWRITE, RANDOM_INIT, SEED, TRAIN_STRIDE, WEIGHTS

#: The layout a model is built for when lifting a keypoint file, by the dataset its weights came from.
_MODEL_LAYOUT = {"h36m": "h36m", "synthetic": "h36m", "humaneva": "humaneva"}


def register(app: typer.Typer) -> None:
    """Add ``infer`` to the app."""

    @app.command("infer")
    def infer_command(
        model: str = MODEL,
        keypoints: Path = typer.Option(..., "--keypoints", help="2D keypoints: MMPose/Detectron2 JSON, .npz or .npy (T, J, 2|3)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Output base name: writes OUT.npz and OUT.json (default: <keypoints>_3d)."),
        layout: Optional[str] = typer.Option(None, "--layout", help="Joint order of the file: coco (default), h36m, h36m16, humaneva."),
        width: Optional[int] = typer.Option(None, "--width", help="Image width in pixels (if the file lacks it)."),
        height: Optional[int] = typer.Option(None, "--height", help="Image height in pixels (if the file lacks it)."),
        dataset: str = typer.Option("h36m", "--dataset", help="Dataset the weights were trained on: h36m, humaneva or synthetic (picks the model layout and the zoo card)."),
        input: str = typer.Option("gt", "--input", help="2D input the weights were trained on: gt, cpn, sh, ... (picks the zoo card)."),
        weights: Optional[Path] = WEIGHTS,
        random_init: bool = RANDOM_INIT,
        seed: int = SEED,
        offline: bool = OFFLINE,
        min_score: float = typer.Option(0.3, "--min-score", help="Joints scored below this are filled along time."),
        train_stride: Optional[int] = TRAIN_STRIDE,
        flip: bool = typer.Option(True, "--flip/--no-flip", help="Test-time flip averaging."),
        device: str = DEVICE,
        animate: Optional[Path] = typer.Option(None, "--animate", help="Also write an animation (.gif/.mp4) or a frame (.png)."),
        fps: float = typer.Option(25.0, "--fps", help="Animation frame rate."),
        overwrite: bool = OVERWRITE,
    ) -> None:
        """Lift your own 2D keypoints to 3D (metres, camera frame, root-relative): .npz and .json."""
        from ..errors import ConfigError
        from ..evaluation import resolve_device
        from ..infer import lift_clip, output_paths, save_lifted
        from ..keypoints import read_keypoints
        from ..outputs import check_distinct, check_output_file
        from ..pretrained import resolve_lifter
        from .viz import render

        if dataset not in _MODEL_LAYOUT:
            raise ConfigError(f"unknown --dataset {dataset!r}; use {', '.join(_MODEL_LAYOUT)}")
        npz_out, json_out = output_paths(out or keypoints.with_name(keypoints.stem + "_3d"))

        def check_outputs(inputs: list[Path | str]) -> None:
            for path, option in ((npz_out, "--out"), (json_out, "--out"), (animate, "--animate")):
                if path is not None:
                    check_output_file(path, option, overwrite=overwrite, inputs=inputs)
            check_distinct([("--out (.npz)", npz_out), ("--out (.json)", json_out), ("--animate", animate)])

        check_outputs([keypoints, *([weights] if weights is not None else [])])
        clip = read_keypoints(keypoints, layout=layout, width=width, height=height)
        lifter, info = resolve_lifter(
            model, dataset=dataset, input=input, layout=_MODEL_LAYOUT[dataset], weights=weights, random_init=random_init, seed=seed, offline=offline
        )
        check_outputs([keypoints, *info.read_files])
        dev = resolve_device(device)
        lifted = lift_clip(
            lifter.to(dev), clip, weights=info.to_dict(), train_stride=train_stride or info.train_stride or 1,
            min_score=min_score, flip=flip, device=str(dev),
        )
        npz_path, json_path = save_lifted(lifted, npz_out, overwrite=overwrite)
        frames = lifted.poses.shape[0]
        typer.echo(
            f"lifted {frames} frames in {lifted.seconds:.2f} s ({frames / max(lifted.seconds, 1e-9):.0f} frames/s); "
            f"{int(lifted.inputs.filled.sum())} joint positions filled; wrote {npz_path} and {json_path}"
        )
        if animate is not None:
            from ..viz.animate import Keypoints2D, PoseTrack

            panel = Keypoints2D(lifted.inputs.pixels, lifted.inputs.layout, (clip.width, clip.height), f"2D: {keypoints.name}")
            track = PoseTrack(f"{model} (untrained)" if random_init else model, lifted.poses, lifted.layout)
            render(panel, [track], animate, frame=None, start=0, count=None, stride=1, fps=fps, dpi=None, overwrite=overwrite)

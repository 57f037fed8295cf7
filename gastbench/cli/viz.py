"""``gastbench viz``, ``gastbench plot ...`` and ``gastbench infer``: thin commands over :mod:`gastbench.viz`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

#: The layout a model is built for when lifting a keypoint file, by the dataset its weights came from.
_MODEL_LAYOUT = {"h36m": "h36m", "synthetic": "h36m", "humaneva": "humaneva"}


def _frames(total: int, start: int, count: Optional[int], stride: int) -> list[int]:
    from ..errors import ConfigError

    if start < 0 or start >= total or stride < 1:
        raise ConfigError(f"--start must be in 0..{total - 1} and --stride >= 1, got start={start} stride={stride}")
    chosen = list(range(start, total, stride))
    return chosen[:count] if count else chosen


def _render(inputs, tracks, out: Path, *, frame: Optional[int], start: int, count: Optional[int], stride: int, fps: float, dpi: Optional[int], overwrite: bool) -> None:  # type: ignore[no-untyped-def]
    from ..viz.animate import render_animation, render_frame

    total = tracks[0].poses.shape[0] if tracks else inputs.keypoints.shape[0]
    if out.suffix.lower() in (".gif", ".mp4"):
        report = render_animation(
            inputs, tracks, out, frames=_frames(total, start, count, stride), fps=fps, dpi=dpi or 60, overwrite=overwrite
        )
    else:
        report = render_frame(inputs, tracks, out, frame if frame is not None else start, dpi=dpi or 100, overwrite=overwrite)
    if report.note:
        typer.echo(f"note: {report.note}", err=True)
    size_kb = report.path.stat().st_size / 1024
    typer.echo(f"wrote {report.path} ({report.frames} frames, {size_kb:.0f} KiB, {report.seconds:.1f} s, {report.writer})")


def register(app: typer.Typer) -> None:
    """Add ``viz``, the ``plot`` group and ``infer`` to the app."""

    @app.command("viz")
    def viz_command(
        models: list[str] = typer.Argument(None, help="Lifters to compare: MODEL or MODEL=WEIGHTS.safetensors (none: only --predictions)."),
        out: Path = typer.Option(..., "--out", help="Output: .gif or .mp4 (animation) or .png (one frame)."),
        dataset: str = typer.Option("h36m", "--dataset", help="h36m, humaneva or synthetic."),
        input: str = typer.Option("gt", "--input", help="2D input: gt, cpn, sh_pt_mpii, ..."),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Dataset folder (else $GASTBENCH_DATA)."),
        subject: Optional[str] = typer.Option(None, "--subject", help="Test subject, e.g. S9 (default: the first)."),
        action: Optional[str] = typer.Option(None, "--action", help="Sequence ('Walking 1') or action ('Walking')."),
        camera: Optional[str] = typer.Option(None, "--camera", help="Camera id or index (default: the first)."),
        predictions: list[Path] = typer.Option([], "--predictions", help="Saved predictions (.npz from `eval --save-predictions`); repeatable."),
        random_init: bool = typer.Option(False, "--random-init", help="Untrained weights for models without =WEIGHTS."),
        seed: int = typer.Option(0, "--seed", help="Seed for --random-init."),
        offline: bool = typer.Option(False, "--offline", help="Never contact the Hub."),
        no_ground_truth: bool = typer.Option(False, "--no-ground-truth", help="Leave out the ground-truth panel."),
        frame: Optional[int] = typer.Option(None, "--frame", help="Frame drawn into a .png (default: --start)."),
        start: int = typer.Option(0, "--start", help="First frame."),
        count: Optional[int] = typer.Option(None, "--frames", help="Number of frames in the animation (default: all)."),
        stride: int = typer.Option(1, "--stride", help="Animate every n-th frame."),
        fps: float = typer.Option(25.0, "--fps", help="Animation frame rate."),
        dpi: Optional[int] = typer.Option(None, "--dpi", help="Resolution (default 60 for animations, 100 for PNG)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
    ) -> None:
        """2D input, each model's 3D prediction and the ground truth side by side, with per-frame error."""
        from ..data import load_dataset
        from ..viz.sources import find_sequence, ground_truth_track, inputs_panel, parse_model_spec, predict_tracks, predictions_track

        data = load_dataset(dataset, input, data_dir)
        seq = find_sequence(data, subject, action, camera)
        tracks = predict_tracks([parse_model_spec(m) for m in models or []], data, seq, random_init=random_init, seed=seed, offline=offline)
        tracks += [predictions_track(p, data, seq) for p in predictions]
        if not no_ground_truth:
            tracks.append(ground_truth_track(data, seq))
        _render(inputs_panel(data, seq), tracks, out, frame=frame, start=start, count=count, stride=stride, fps=fps, dpi=dpi, overwrite=overwrite)

    plot = typer.Typer(help="Plots of results, sequences, training runs and GAST-Net attention.", no_args_is_help=True)
    app.add_typer(plot, name="plot")

    @plot.command("results")
    def plot_results(
        records: list[Path] = typer.Argument(..., help="Result records (JSON) written by `gastbench eval`."),
        out: Path = typer.Option(..., "--out", help="Output image (.png, .svg, .pdf)."),
        metric: str = typer.Option("mpjpe_mm", "--metric", help="mpjpe_mm, p_mpjpe_mm, n_mpjpe_mm or mpjve_mm."),
        overwrite: bool = typer.Option(False, "--overwrite"),
    ) -> None:
        """Per-action error bars (and the average) for one or more result records."""
        from ..results import load_result
        from ..viz.plots import plot_actions

        typer.echo(f"wrote {plot_actions([load_result(p) for p in records], out, metric=metric, overwrite=overwrite)}")

    @plot.command("joints")
    def plot_joints_command(
        predictions: list[Path] = typer.Argument(..., help="Predictions (.npz) from `gastbench eval --save-predictions`."),
        out: Path = typer.Option(..., "--out", help="Output image."),
        overwrite: bool = typer.Option(False, "--overwrite"),
    ) -> None:
        """Per-joint error bars over all saved frames, one series per predictions file."""
        from ..viz.plots import plot_joints

        typer.echo(f"wrote {plot_joints(predictions, out, overwrite=overwrite)}")

    @plot.command("sequence")
    def plot_sequence(
        predictions: list[Path] = typer.Argument(..., help="Predictions (.npz) from `gastbench eval --save-predictions`."),
        out: Path = typer.Option(..., "--out", help="Output image."),
        sequence: Optional[str] = typer.Option(None, "--sequence", help="SUBJECT/SEQUENCE/CAMERA, e.g. 'S9/Walking 1/54138969'."),
        fps: Optional[float] = typer.Option(None, "--fps", help="Frame rate: the x axis in seconds instead of frames."),
        overwrite: bool = typer.Option(False, "--overwrite"),
    ) -> None:
        """Error over the frames of one sequence, one curve per predictions file."""
        from ..viz.plots import plot_sequence_errors

        typer.echo(f"wrote {plot_sequence_errors(predictions, out, sequence=sequence, fps=fps, overwrite=overwrite)}")

    @plot.command("training")
    def plot_training_command(
        runs: list[Path] = typer.Argument(..., help="Run folders (with log.jsonl) or *.log.jsonl files."),
        out: Path = typer.Option(..., "--out", help="Output image."),
        overwrite: bool = typer.Option(False, "--overwrite"),
    ) -> None:
        """Training loss and validation error per epoch."""
        from ..viz.plots import plot_training

        typer.echo(f"wrote {plot_training(runs, out, overwrite=overwrite)}")

    @plot.command("attention")
    def plot_attention_command(
        model: str = typer.Argument(..., help="A GAST-Net model, e.g. gast-t27."),
        out: Path = typer.Option(..., "--out", help="Output image."),
        dataset: str = typer.Option("h36m", "--dataset", help="Dataset whose sequence drives the global attention."),
        input: str = typer.Option("gt", "--input", help="2D input."),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
        subject: Optional[str] = typer.Option(None, "--subject"),
        action: Optional[str] = typer.Option(None, "--action"),
        weights: Optional[Path] = typer.Option(None, "--weights", help="Local .safetensors weights."),
        random_init: bool = typer.Option(False, "--random-init", help="Untrained weights."),
        seed: int = typer.Option(0, "--seed"),
        offline: bool = typer.Option(False, "--offline"),
        overwrite: bool = typer.Option(False, "--overwrite"),
    ) -> None:
        """Local (connection, symmetry) kernels and global attention of every graph block (paper Figs. 4-5)."""
        import numpy as np

        from ..data import load_dataset
        from ..pretrained import resolve_lifter
        from ..viz.attention import attention_maps, plot_attention
        from ..viz.sources import find_sequence

        data = load_dataset(dataset, input, data_dir)
        seq = find_sequence(data, subject, action, None)
        lifter, info = resolve_lifter(
            model, dataset=dataset, input=input, layout=data.layout_2d, weights=weights, random_init=random_init, seed=seed, offline=offline
        )
        maps = attention_maps(lifter, np.asarray(seq.keypoints_2d))
        state = "untrained" if info.untrained else Path(info.path or "").name
        title = f"{model} ({state}) - global attention averaged over {seq.subject} {seq.name}"
        typer.echo(f"wrote {plot_attention(maps, out, title=title, overwrite=overwrite)}")

    @app.command("infer")
    def infer_command(
        model: str = typer.Argument(..., help="Registered lifter, e.g. gast-t27."),
        keypoints: Path = typer.Option(..., "--keypoints", help="2D keypoints: MMPose/Detectron2 JSON, .npz or .npy (T, J, 2|3)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Output base name: writes OUT.npz and OUT.json (default: <keypoints>_3d)."),
        layout: Optional[str] = typer.Option(None, "--layout", help="Joint order of the file: coco (default), h36m, h36m16, humaneva."),
        width: Optional[int] = typer.Option(None, "--width", help="Image width in pixels (if the file lacks it)."),
        height: Optional[int] = typer.Option(None, "--height", help="Image height in pixels (if the file lacks it)."),
        dataset: str = typer.Option("h36m", "--dataset", help="Dataset the weights were trained on (picks the model layout and zoo card)."),
        input: str = typer.Option("cpn", "--input", help="2D input the weights were trained on (zoo card)."),
        weights: Optional[Path] = typer.Option(None, "--weights", help="Local .safetensors weights."),
        random_init: bool = typer.Option(False, "--random-init", help="Untrained weights (pipeline check)."),
        seed: int = typer.Option(0, "--seed"),
        offline: bool = typer.Option(False, "--offline"),
        min_score: float = typer.Option(0.3, "--min-score", help="Joints scored below this are filled along time."),
        train_stride: Optional[int] = typer.Option(None, "--train-stride", min=1, help="Frame stride the weights were trained at (default: theirs, else 1)."),
        no_flip: bool = typer.Option(False, "--no-flip", help="Disable test-time flip augmentation."),
        device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
        animate: Optional[Path] = typer.Option(None, "--animate", help="Also write an animation (.gif/.mp4) or a frame (.png)."),
        fps: float = typer.Option(25.0, "--fps", help="Animation frame rate."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    ) -> None:
        """Lift your own 2D keypoints to 3D (metres, camera frame, root-relative): .npz and .json."""
        from ..errors import ConfigError
        from ..evaluation import resolve_device
        from ..infer import lift_clip, save_lifted
        from ..keypoints import read_keypoints
        from ..pretrained import resolve_lifter

        if dataset not in _MODEL_LAYOUT:
            raise ConfigError(f"unknown --dataset {dataset!r}; use {', '.join(_MODEL_LAYOUT)}")
        clip = read_keypoints(keypoints, layout=layout, width=width, height=height)
        lifter, info = resolve_lifter(
            model, dataset=dataset, input=input, layout=_MODEL_LAYOUT[dataset], weights=weights, random_init=random_init, seed=seed, offline=offline
        )
        dev = resolve_device(device)
        lifted = lift_clip(
            lifter.to(dev), clip, weights=info.to_dict(), train_stride=train_stride or info.train_stride or 1,
            min_score=min_score, flip=not no_flip, device=str(dev),
        )
        base = out or keypoints.with_name(keypoints.stem + "_3d")
        npz_path, json_path = save_lifted(lifted, base, overwrite=overwrite)
        frames = lifted.poses.shape[0]
        typer.echo(
            f"lifted {frames} frames in {lifted.seconds:.2f} s ({frames / max(lifted.seconds, 1e-9):.0f} frames/s); "
            f"{int(lifted.inputs.filled.sum())} joint positions filled; wrote {npz_path} and {json_path}"
        )
        if animate is not None:
            from ..viz.animate import Keypoints2D, PoseTrack

            panel = Keypoints2D(lifted.inputs.pixels, lifted.inputs.layout, (clip.width, clip.height), f"2D: {keypoints.name}")
            track = PoseTrack(f"{model} (untrained)" if random_init else model, lifted.poses, lifted.layout)
            _render(panel, [track], animate, frame=None, start=0, count=None, stride=1, fps=fps, dpi=None, overwrite=overwrite)

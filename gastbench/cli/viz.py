"""``gastbench viz`` and ``gastbench plot ...``: commands over :mod:`gastbench.viz`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from ..run_folder import LOG
from .options import DATA_DIR, DATASET, INPUT, OFFLINE, OVERWRITE, RANDOM_INIT, SEED, WEIGHTS


def _frames(total: int, start: int, count: int | None, stride: int) -> list[int]:
    from ..errors import ConfigError

    if start < 0 or start >= total or stride < 1:
        raise ConfigError(f"--start must be in 0..{total - 1} and --stride >= 1, got start={start} stride={stride}")
    chosen = list(range(start, total, stride))
    return chosen[:count] if count else chosen


def _guard(out: Path, overwrite: bool, inputs: Sequence[Path | str]) -> None:
    """An output is checked against every file the command reads before any work (see gastbench.outputs)."""
    from ..outputs import check_output_file

    check_output_file(out, "--out", overwrite=overwrite, inputs=inputs)


def render(
    inputs,
    tracks,
    out: Path,
    *,
    frame: int | None,
    start: int,
    count: int | None,
    stride: int,
    fps: float,
    dpi: int | None,
    overwrite: bool,
) -> None:
    from ..viz.animate import render_animation, render_frame
    from ..viz.figure import DEFAULT_DPI

    total = tracks[0].poses.shape[0] if tracks else inputs.keypoints.shape[0]
    if out.suffix.lower() in (".gif", ".mp4"):
        report = render_animation(
            inputs,
            tracks,
            out,
            frames=_frames(total, start, count, stride),
            fps=fps,
            dpi=dpi or DEFAULT_DPI,
            overwrite=overwrite,
        )
    else:
        report = render_frame(
            inputs, tracks, out, frame if frame is not None else start, dpi=dpi or DEFAULT_DPI, overwrite=overwrite
        )
    if report.note:
        typer.echo(f"note: {report.note}", err=True)
    size_kb = report.path.stat().st_size / 1024
    typer.echo(
        f"wrote {report.path} ({report.frames} frames, {size_kb:.0f} KiB, {report.seconds:.1f} s, {report.writer})"
    )


def register(app: typer.Typer) -> None:
    """Add ``viz`` and the ``plot`` group to the app."""

    @app.command("viz")
    def viz_command(
        models: list[str] = typer.Argument(
            None, help="Lifters to compare: MODEL or MODEL=WEIGHTS.safetensors (none: only --predictions)."
        ),
        out: Path = typer.Option(..., "--out", help="Output: .gif or .mp4 (animation) or .png (one frame)."),
        dataset: str = DATASET,
        input: str = INPUT,
        data_dir: Path | None = DATA_DIR,
        subject: str | None = typer.Option(None, "--subject", help="Test subject, e.g. S9 (default: the first)."),
        action: str | None = typer.Option(None, "--action", help="Sequence ('Walking 1') or action ('Walking')."),
        camera: str | None = typer.Option(None, "--camera", help="Camera id or index (default: the first)."),
        predictions: list[Path] = typer.Option(
            [], "--predictions", help="Saved predictions (.npz from `eval --save-predictions`); repeatable."
        ),
        random_init: bool = RANDOM_INIT,
        seed: int = SEED,
        offline: bool = OFFLINE,
        no_ground_truth: bool = typer.Option(False, "--no-ground-truth", help="Leave out the ground-truth panel."),
        frame: int | None = typer.Option(None, "--frame", help="Frame drawn into a .png (default: --start)."),
        start: int = typer.Option(0, "--start", help="First frame."),
        count: int | None = typer.Option(None, "--frames", help="Number of frames in the animation (default: all)."),
        stride: int = typer.Option(1, "--stride", help="Animate every n-th frame."),
        fps: float = typer.Option(25.0, "--fps", help="Animation frame rate."),
        dpi: int | None = typer.Option(None, "--dpi", help="Resolution (default 100: pictures at least 960 px wide)."),
        overwrite: bool = OVERWRITE,
    ) -> None:
        """2D input, each model's 3D prediction and the ground truth side by side, with per-frame error."""
        from ..data import load_dataset
        from ..viz.sources import (
            find_sequence,
            ground_truth_track,
            inputs_panel,
            parse_model_spec,
            predict_tracks,
            predictions_track,
        )

        specs = [parse_model_spec(m) for m in models or []]
        read: list[Path | str] = [*predictions, *(s.weights for s in specs if s.weights is not None)]
        _guard(out, overwrite, read)
        data = load_dataset(dataset, input, data_dir)
        _guard(out, overwrite, [*read, *data.files])
        seq = find_sequence(data, subject, action, camera)
        tracks = predict_tracks(specs, data, seq, random_init=random_init, seed=seed, offline=offline)
        tracks += [predictions_track(p, data, seq) for p in predictions]
        if not no_ground_truth:
            tracks.append(ground_truth_track(data, seq))
        render(
            inputs_panel(data, seq),
            tracks,
            out,
            frame=frame,
            start=start,
            count=count,
            stride=stride,
            fps=fps,
            dpi=dpi,
            overwrite=overwrite,
        )

    plot = typer.Typer(help="Plots of results, sequences, training runs and GAST-Net attention.", no_args_is_help=True)
    app.add_typer(plot, name="plot")

    @plot.command("results")
    def plot_results(
        records: list[Path] = typer.Argument(..., help="Result records (JSON) written by `gastbench eval`."),
        out: Path = typer.Option(..., "--out", help="Output image (.png, .svg, .pdf)."),
        metric: str = typer.Option("mpjpe_mm", "--metric", help="mpjpe_mm, p_mpjpe_mm, n_mpjpe_mm or mpjve_mm."),
        overwrite: bool = OVERWRITE,
    ) -> None:
        """Per-action error bars (and the average) for one or more result records."""
        from ..results import load_result
        from ..viz.plots import plot_actions

        _guard(out, overwrite, records)
        typer.echo(f"wrote {plot_actions([load_result(p) for p in records], out, metric=metric, overwrite=overwrite)}")

    @plot.command("joints")
    def plot_joints_command(
        predictions: list[Path] = typer.Argument(
            ..., help="Predictions (.npz) from `gastbench eval --save-predictions`."
        ),
        out: Path = typer.Option(..., "--out", help="Output image."),
        overwrite: bool = OVERWRITE,
    ) -> None:
        """Per-joint error bars over all saved frames, one series per predictions file."""
        from ..viz.plots import plot_joints

        _guard(out, overwrite, predictions)
        typer.echo(f"wrote {plot_joints(predictions, out, overwrite=overwrite)}")

    @plot.command("sequence")
    def plot_sequence(
        predictions: list[Path] = typer.Argument(
            ..., help="Predictions (.npz) from `gastbench eval --save-predictions`."
        ),
        out: Path = typer.Option(..., "--out", help="Output image."),
        sequence: str | None = typer.Option(
            None, "--sequence", help="SUBJECT/SEQUENCE/CAMERA, e.g. 'S9/Walking 1/54138969'."
        ),
        fps: float | None = typer.Option(None, "--fps", help="Frame rate: the x axis in seconds instead of frames."),
        overwrite: bool = OVERWRITE,
    ) -> None:
        """Error over the frames of one sequence, one curve per predictions file."""
        from ..viz.plots import plot_sequence_errors

        _guard(out, overwrite, predictions)
        typer.echo(f"wrote {plot_sequence_errors(predictions, out, sequence=sequence, fps=fps, overwrite=overwrite)}")

    @plot.command("training")
    def plot_training_command(
        runs: list[Path] = typer.Argument(..., help="Run folders (with log.jsonl) or *.log.jsonl files."),
        out: Path = typer.Option(..., "--out", help="Output image."),
        overwrite: bool = OVERWRITE,
    ) -> None:
        """Training loss and validation error per epoch."""
        from ..viz.plots import plot_training

        _guard(out, overwrite, [r / LOG if r.is_dir() else r for r in runs])
        typer.echo(f"wrote {plot_training(runs, out, overwrite=overwrite)}")

    @plot.command("attention")
    def plot_attention_command(
        model: str = typer.Argument(..., help="A GAST-Net model, e.g. gast-t27."),
        out: Path = typer.Option(..., "--out", help="Output image."),
        dataset: str = DATASET,
        input: str = INPUT,
        data_dir: Path | None = DATA_DIR,
        subject: str | None = typer.Option(
            None, "--subject", help="Test subject whose sequence drives the attention (default: the first)."
        ),
        action: str | None = typer.Option(
            None, "--action", help="Sequence ('Walking 1') or action ('Walking') (default: the first)."
        ),
        weights: Path | None = WEIGHTS,
        random_init: bool = RANDOM_INIT,
        seed: int = SEED,
        offline: bool = OFFLINE,
        overwrite: bool = OVERWRITE,
    ) -> None:
        """Local (connection, symmetry) kernels and global attention of every graph block (paper Figs. 4-5)."""
        import numpy as np

        from ..data import load_dataset
        from ..pretrained import resolve_lifter
        from ..viz.attention import attention_maps, plot_attention
        from ..viz.sources import find_sequence

        _guard(out, overwrite, [weights] if weights is not None else [])
        data = load_dataset(dataset, input, data_dir)
        seq = find_sequence(data, subject, action, None)
        lifter, info = resolve_lifter(
            model,
            dataset=dataset,
            input=input,
            layout=data.layout_2d,
            weights=weights,
            random_init=random_init,
            seed=seed,
            offline=offline,
        )
        _guard(out, overwrite, [*data.files, *info.read_files])
        maps = attention_maps(lifter, np.asarray(seq.keypoints_2d))
        state = "untrained" if info.untrained else Path(info.path or "").name
        title = f"{model} ({state}) - global attention averaged over {seq.subject} {seq.name}"
        typer.echo(f"wrote {plot_attention(maps, out, title=title, overwrite=overwrite)}")

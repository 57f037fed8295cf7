"""``gastbench eval`` and ``gastbench table``: thin commands over :mod:`gastbench.evaluation`.

Deliberate errors (:class:`~gastbench.errors.GastbenchError`) are not caught here: the
entry point prints them as one line and exits with code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def _emit(text: str, fmt: str, out: Optional[Path]) -> None:
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    elif fmt == "terminal":
        from rich.console import Console

        Console().print(text, highlight=False, soft_wrap=True, markup=False)
    else:
        typer.echo(text)


def _protocols_text(records: list, fmt: str, protocols: list[str]) -> str:  # type: ignore[type-arg]
    from ..tables import render_results

    if fmt == "json":
        import json

        return json.dumps([json.loads(render_results(records, p, "json")) for p in protocols], indent=2, ensure_ascii=False)
    return "\n\n".join(render_results(records, p, fmt) for p in protocols)


def _check_outputs(
    out: Optional[Path], predictions: Optional[Path], runs_dir: Optional[Path], overwrite: bool, inputs: list[str] | tuple[()]
) -> Path:
    """Every output path of ``eval`` checked before any work (see :mod:`gastbench.outputs`); return the runs folder."""
    from ..outputs import check_distinct, check_output_dir, check_output_file
    from ..results import default_runs_dir

    if out is not None:
        check_output_file(out, "--out", overwrite=overwrite, inputs=inputs)
    if predictions is not None:
        check_output_file(predictions, "--save-predictions", overwrite=overwrite, inputs=inputs, suffix=".npz")
    check_distinct([("--out", out), ("--save-predictions", predictions)])
    folder = runs_dir if runs_dir is not None else default_runs_dir()
    return check_output_dir(folder, "--runs-dir")


def _warn_partial(result: object) -> None:
    from ..results import EvalResult

    assert isinstance(result, EvalResult)
    if result.protocol.trimmed:
        typer.echo(
            f"note: {len(result.protocol.trimmed)} camera view(s) trimmed to the shorter of their 2D and 3D frame "
            f"counts (recorded), e.g. {result.protocol.trimmed[0]}",
            err=True,
        )
    reasons = result.partial_reasons()
    if reasons:
        typer.echo(f"warning: partial result, left off the leaderboard (see --include-partial): {'; '.join(reasons)}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``eval`` and ``table`` to the app."""

    @app.command("eval")
    def eval_command(
        model: str = typer.Argument(..., help="Registered lifter, e.g. gast-t27 (see `gastbench models`)."),
        dataset: str = typer.Option("h36m", "--dataset", help="h36m, humaneva, 3dhp (MPI-INF-3DHP) or synthetic."),
        annotation: Optional[str] = typer.Option(
            None, "--annotation", help="3dhp only: the 3D annotation scored against, univ_annot3 (default) or annot3."
        ),
        trained_on: Optional[str] = typer.Option(
            None,
            "--trained-on",
            help=(
                "DATASET or DATASET/INPUT whose zoo card gives the weights, for a cross-dataset evaluation "
                "(e.g. --dataset 3dhp --trained-on h36m/gt); default: the evaluated dataset and --input."
            ),
        ),
        input: str = typer.Option("gt", "--input", help="2D input: gt, cpn, sh, sh_pt_mpii, ..."),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Dataset folder (else $GASTBENCH_DATA)."),
        device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
        chunk_frames: Optional[int] = typer.Option(
            None, "--chunk-frames", help="Output frames per chunk (default: sized to the model's receptive field)."
        ),
        flip: Optional[bool] = typer.Option(
            None, "--flip/--no-flip", help="Test-time flip augmentation (default: the protocol's; paper: the authors')."
        ),
        score_stride: Optional[int] = typer.Option(
            None, "--score-stride", min=1, help="Score every n-th frame (default: the protocol's)."
        ),
        train_stride: Optional[int] = typer.Option(
            None,
            "--train-stride",
            min=1,
            help=(
                "Frame stride the model was trained at, e.g. 5 for GAST-Net's 10 fps Human3.6M recipe: every frame "
                "is still scored, each lifted from the stride-N video around it. Default: the zoo card's or the "
                "training run's `train_stride` (config.json beside --weights), else 1."
            ),
        ),
        convention: str = typer.Option("standard", "--convention", help="standard (leaderboard) or paper."),
        weights: Optional[Path] = typer.Option(None, "--weights", help="Local .safetensors weights."),
        random_init: bool = typer.Option(False, "--random-init", help="Untrained weights (pipeline check)."),
        seed: int = typer.Option(0, "--seed", help="Seed for --random-init."),
        causal: bool = typer.Option(False, "--causal", help="Build the causal variant of the model."),
        offline: bool = typer.Option(False, "--offline", help="Never contact the Hub; use cached weights."),
        max_sequences: Optional[int] = typer.Option(None, "--max-sequences", help="Quick check: first n sequences."),
        fmt: str = typer.Option("terminal", "--format", help="terminal, markdown, csv, latex or json."),
        out: Optional[Path] = typer.Option(None, "--out", help="Write the table to this file."),
        runs_dir: Optional[Path] = typer.Option(None, "--runs-dir", help="Where the record goes ($GASTBENCH_RUNS, ./runs)."),
        save_predictions: Optional[Path] = typer.Option(
            None, "--save-predictions", help="Write the scored predictions and targets to this .npz file."
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing --out / --save-predictions files."),
        allow_trim: bool = typer.Option(
            False, "--allow-trim", help="Evaluate 2D/3D files whose frame counts differ beyond the tolerance (partial)."
        ),
        no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
    ) -> None:
        """Evaluate MODEL on a dataset's test split; save the result record and print the tables."""
        from ..data import load_dataset
        from ..errors import ConfigError
        from ..evaluation import EvalOptions, evaluate
        from ..evaluation.runner import incomplete_sequences
        from ..results import save_result
        from ..tables import FORMATS
        from ..pretrained import resolve_lifter

        if fmt not in FORMATS:
            raise ConfigError(f"unknown --format {fmt!r}; formats: {', '.join(FORMATS)}")
        if convention not in ("standard", "paper"):
            raise ConfigError(f"unknown --convention {convention!r}; use standard or paper")
        outputs = _check_outputs(out, save_predictions, runs_dir, overwrite, inputs=())
        data = load_dataset(dataset, input, data_dir, allow_trim=allow_trim, annotation=annotation)
        overrides = {"causal": True} if causal else {}
        card_dataset, _, card_input = (trained_on or "").partition("/")
        lifter, info = resolve_lifter(
            model,
            dataset=card_dataset or dataset,
            input=card_input or data.input,  # the dataset's own name for the input ("detectron" -> "detectron_pt_coco")
            layout=data.layout_2d,
            weights=weights,
            random_init=random_init,
            seed=seed,
            offline=offline,
            **overrides,
        )
        _check_outputs(out, save_predictions, runs_dir, overwrite, inputs=[*data.files, *([info.path] if info.path else [])])
        options = EvalOptions.for_weights(
            info,
            train_stride=train_stride,
            device=device,
            chunk_frames=chunk_frames,
            flip=flip,
            convention=convention,  # type: ignore[arg-type]
            score_stride=score_stride,
            max_sequences=max_sequences,
            save_predictions=save_predictions,
        )
        incomplete = incomplete_sequences(data, options)
        for why in incomplete:
            typer.echo(f"warning: {why}; the result is marked partial", err=True)
        result = evaluate(lifter, data, options, info, progress=not no_progress)
        path = save_result(result, outputs)
        _warn_partial(result)
        protocols = {"humaneva": ["2"], "3dhp": ["1", "sequences"]}.get(data.name, ["1", "2"])
        _emit(_protocols_text([result], fmt, protocols), fmt, out)
        if fmt == "terminal":
            typer.echo(
                f"{result.frames_evaluated} frames, {result.sequences_evaluated} sequences, "
                f"{result.wall_time_s:.1f} s ({result.frames_per_s:.0f} frames/s) on {result.device}; record: {path}",
                err=True,
            )

    @app.command("table")
    def table_command(
        results: list[Path] = typer.Argument(..., help="Result records (JSON) written by `gastbench eval`."),
        protocol: str = typer.Option(
            "1", "--protocol", help="1 (MPJPE), 2 (P-MPJPE), n (N-MPJPE), velocity; 3dhp records: 1 (scenes) or sequences."
        ),
        fmt: str = typer.Option("terminal", "--format", help="terminal, markdown, csv, latex or json."),
        out: Optional[Path] = typer.Option(None, "--out", help="Write the table to this file."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out file."),
    ) -> None:
        """Render several result records as one table (Table 1 layout; Table 3 for HumanEva-I)."""
        from ..results import load_result
        from ..tables import render_results

        if out is not None:
            from ..outputs import check_output_file

            check_output_file(out, "--out", overwrite=overwrite, inputs=results)
        records = [load_result(p) for p in results]
        _emit(render_results(records, protocol, fmt), fmt, out)

"""``gastbench eval`` and ``gastbench table``: commands over :mod:`gastbench.evaluation` and :mod:`gastbench.tables`.

Deliberate errors (:class:`~gastbench.errors.GastbenchError`) are not caught here: the entry
point prints them as one line (exit code 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from .options import (
    CHUNK_FRAMES,
    DATA_DIR,
    DEVICE,
    FLIP,
    FORMAT,
    INPUT,
    MODEL,
    NO_PROGRESS,
    OFFLINE,
    OVERWRITE,
    RANDOM_INIT,
    RUNS_DIR,
    SEED,
    TABLE_OUT,
    TRAIN_STRIDE,
    WEIGHTS,
    check_format,
    write_text,
)  # fmt: skip

if TYPE_CHECKING:
    from ..results import EvalResult


def _protocols_text(records: list[EvalResult], fmt: str, protocols: list[str]) -> str:
    from ..tables import render_results

    if fmt == "json":
        import json

        return json.dumps(
            [json.loads(render_results(records, p, "json")) for p in protocols], indent=2, ensure_ascii=False
        )
    return "\n\n".join(render_results(records, p, fmt) for p in protocols)


def _check_outputs(
    out: Path | None, predictions: Path | None, runs_dir: Path | None, overwrite: bool, inputs: list[str]
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


def _warn_partial(result: EvalResult) -> None:
    if result.protocol.trimmed:
        typer.echo(
            f"note: {len(result.protocol.trimmed)} camera view(s) trimmed to the shorter of their 2D and 3D frame "
            f"counts (recorded), e.g. {result.protocol.trimmed[0]}",
            err=True,
        )
    reasons = result.partial_reasons()
    if reasons:
        typer.echo(
            f"warning: partial result, left off the leaderboard (see --include-partial): {'; '.join(reasons)}", err=True
        )


def _load_all(
    model: str,
    dataset: str,
    input: str,
    data_dir: Path | None,
    allow_trim: bool,
    weights: Path | None,
    random_init: bool,
    annotation: str | None,
    card_dataset: str | None,
    card_input: str | None,
) -> Any:
    """The dataset, with every missing piece (data files, weights) reported at once with what to do for each."""
    from ..data import load_dataset
    from ..errors import GastbenchError, all_problems
    from ..pretrained import weights_problem

    problems: list[GastbenchError] = []
    data = None
    try:
        data = load_dataset(dataset, input, data_dir, allow_trim=allow_trim, annotation=annotation)
    except GastbenchError as exc:
        problems.append(exc)
    if not random_init:
        given = data.input if data is not None else input
        problem = weights_problem(model, card_dataset or dataset, card_input or given, weights)
        if problem is not None:
            problems.append(problem)
    if problems:
        raise all_problems(problems)
    return data


def register(app: typer.Typer) -> None:
    """Add ``eval`` and ``table`` to the app."""

    @app.command("eval")
    def eval_command(
        model: str = MODEL,
        dataset: str = typer.Option(
            "h36m", "--dataset", help="Dataset: h36m, humaneva, 3dhp (MPI-INF-3DHP) or synthetic (built in)."
        ),
        annotation: str | None = typer.Option(
            None, "--annotation", help="3dhp only: the 3D annotation scored against, univ_annot3 (default) or annot3."
        ),
        trained_on: str | None = typer.Option(
            None,
            "--trained-on",
            help=(
                "DATASET or DATASET/INPUT whose zoo card gives the weights, for a cross-dataset evaluation "
                "(e.g. --dataset 3dhp --trained-on h36m/gt); default: the evaluated dataset and --input."
            ),
        ),
        input: str = INPUT,
        data_dir: Path | None = DATA_DIR,
        device: str = DEVICE,
        chunk_frames: int | None = CHUNK_FRAMES,
        flip: bool | None = FLIP,
        score_stride: int | None = typer.Option(
            None, "--score-stride", min=1, help="Score every n-th frame (default: the protocol's: 1, or the paper's)."
        ),
        train_stride: int | None = TRAIN_STRIDE,
        convention: str = typer.Option(
            "standard", "--convention", help="standard (the leaderboard's) or paper (the authors' own)."
        ),
        weights: Path | None = WEIGHTS,
        random_init: bool = RANDOM_INIT,
        seed: int = SEED,
        causal: bool = typer.Option(
            False,
            "--causal",
            help="Build the causal variant of the model (recorded; weights trained "
            "non-causal make the result partial).",
        ),  # fmt: skip
        offline: bool = OFFLINE,
        max_sequences: int | None = typer.Option(
            None, "--max-sequences", min=1, help="Quick check: the first n test sequences (partial)."
        ),
        fmt: str = FORMAT,
        out: Path | None = TABLE_OUT,
        runs_dir: Path | None = RUNS_DIR,
        save_predictions: Path | None = typer.Option(
            None, "--save-predictions", help="Also write the scored predictions and targets to this .npz file."
        ),
        overwrite: bool = OVERWRITE,
        allow_trim: bool = typer.Option(
            False, "--allow-trim", help="Evaluate 2D/3D files whose frame counts differ beyond the tolerance (partial)."
        ),
        no_progress: bool = NO_PROGRESS,
    ) -> None:
        """Evaluate MODEL on a dataset's test split; save the result record and print Protocol #1 and #2 tables."""
        from ..errors import ConfigError
        from ..evaluation import EvalOptions, evaluate
        from ..evaluation.runner import incomplete_sequences
        from ..pretrained import resolve_lifter
        from ..results import save_result

        check_format(fmt)
        if convention not in ("standard", "paper"):
            raise ConfigError(f"unknown --convention {convention!r}; use standard or paper")
        _check_outputs(out, save_predictions, runs_dir, overwrite, inputs=[])
        card_dataset, _, card_input = (trained_on or "").partition("/")
        data = _load_all(model, dataset, input, data_dir, allow_trim, weights, random_init, annotation,
                         card_dataset or None, card_input or None)  # fmt: skip
        overrides = {"causal": True} if causal else {}
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
        outputs = _check_outputs(out, save_predictions, runs_dir, overwrite, inputs=[*data.files, *info.read_files])
        options = EvalOptions.for_weights(
            info,
            train_stride=train_stride,
            device=device,
            chunk_frames=chunk_frames,
            flip=flip,
            convention=convention,
            score_stride=score_stride,
            max_sequences=max_sequences,
            save_predictions=save_predictions,
        )
        for why in incomplete_sequences(data, options):
            typer.echo(f"warning: {why}; the result is marked partial", err=True)
        result = evaluate(lifter, data, options, info, progress=not no_progress)
        path = save_result(result, outputs)
        _warn_partial(result)
        protocols = {"3dhp": ["1", "sequences"]}.get(data.name, ["1", "2"])
        write_text(_protocols_text([result], fmt, protocols), fmt, out)
        if fmt == "terminal":
            typer.echo(
                f"{result.frames_evaluated} frames, {result.sequences_evaluated} sequences, "
                f"{result.wall_time_s:.1f} s ({result.frames_per_s:.0f} frames/s) on {result.device}; record: {path}",
                err=True,
            )

    @app.command("table")
    def table_command(
        results: list[Path] = typer.Argument(..., help="Result records (JSON) written by `gastbench eval`."),
        protocol: str | None = typer.Option(
            None,
            "--protocol",
            help="1 (MPJPE), 2 (P-MPJPE), n (N-MPJPE) or velocity (MPJVE); 3dhp records: 1 "
            "(scenes) or sequences; default: the dataset's headline protocol (2 for HumanEva-I, 1 otherwise).",
        ),
        fmt: str = FORMAT,
        out: Path | None = TABLE_OUT,
        overwrite: bool = OVERWRITE,
    ) -> None:
        """Render several result records as one table (Table 1 layout; Table 3 for HumanEva-I)."""
        from ..results import load_result
        from ..tables import headline_protocol, render_results

        check_format(fmt)
        if out is not None:
            from ..outputs import check_output_file

            check_output_file(out, "--out", overwrite=overwrite, inputs=results)
        records = [load_result(p) for p in results]
        chosen = protocol or headline_protocol(records[0].dataset)
        write_text(render_results(records, chosen, fmt), fmt, out)

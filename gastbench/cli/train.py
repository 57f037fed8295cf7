"""``gastbench train MODEL``: a paper's recipe as a preset, every setting overridable."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import typer

from ..errors import ConfigError
from .options import DATA_DIR, DATASET, FLIP, INPUT, MODEL, NO_PROGRESS, RUNS_DIR, THREADS


def _csv(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def _parse_assignments(pairs: list[str] | None, option: str) -> dict[str, Any]:
    """``["lr=0.002", "bn_momentum=[0.1,0.01]", "dropout=null"]`` -> values (JSON where it parses)."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} expects KEY=VALUE, got {pair!r}")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key.strip().replace("-", "_") if option == "--set" else key.strip()] = value
    return out


def build_config(
    model: str,
    dataset: str,
    input: str,
    options: dict[str, Any],
    sets: list[str] | None = None,
    model_args: list[str] | None = None,
) -> Any:
    """The recipe for ``model``/``dataset`` with the CLI's options, then ``--set`` and ``--model-arg`` applied."""
    from ..training import TrainConfig, resolve_config

    config = resolve_config(model, dataset, input, **options)
    data = config.to_dict()
    for key, value in _parse_assignments(sets, "--set").items():
        if key not in data:
            raise ConfigError(f"--set {key}: unknown setting; settings are {', '.join(sorted(data))}")
        data[key] = value
    data["model_overrides"] = {**data["model_overrides"], **_parse_assignments(model_args, "--model-arg")}
    try:
        return TrainConfig.from_dict(data, origin="command line")
    except TypeError as exc:
        raise ConfigError(f"command line: bad setting: {exc}") from None


def _final_loss(loss: float | None, kind: str) -> dict[str, Any]:
    """The last epoch's loss in the log's unit: millimetres for MPJPE (the log's), m^2 for MSE."""
    if loss is None:
        return {}
    if kind == "mpjpe":
        return {"final_loss_mm": round(loss * 1000.0, 3)}
    return {"final_loss_mse_m2": loss}


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_command(
        model: str = MODEL,
        dataset: str = DATASET,
        input: str = INPUT,
        data_dir: Path | None = DATA_DIR,
        layout: str | None = typer.Option(
            None, "--layout", help="Train at this 2D input layout, e.g. h36m16 (default: the dataset's 2D layout)."
        ),
        epochs: int | None = typer.Option(None, "--epochs", min=1, help="Epochs (default: the recipe's)."),
        lr: float | None = typer.Option(None, "--lr", help="Initial learning rate (default: the recipe's)."),
        lr_decay: float | None = typer.Option(
            None, "--lr-decay", help="Decay factor per epoch or per step block (default: the recipe's)."
        ),
        batch_size: int | None = typer.Option(
            None,
            "--batch-size",
            min=1,
            help="Training windows per optimizer step, over all processes (default: the recipe's).",
        ),
        dropout: float | None = typer.Option(None, "--dropout", help="Dropout probability (default: the recipe's)."),
        optimizer: str | None = typer.Option(
            None, "--optimizer", help="amsgrad, adam or adamw (default: the recipe's)."
        ),
        weight_decay: float | None = typer.Option(
            None, "--weight-decay", help="AdamW's decoupled decay; Adam: an L2 penalty (default: the recipe's)."
        ),
        loss: str | None = typer.Option(None, "--loss", help="mpjpe or mse (default: the recipe's)."),
        grad_clip: float | None = typer.Option(
            None, "--grad-clip", help="Clip the gradient norm to this (default: the recipe's)."
        ),
        train_stride: int | None = typer.Option(
            None,
            "--train-stride",
            min=1,
            help="Frame stride the model trains at: keep every n-th training frame "
            "(evaluation then feeds video at that stride; default: the recipe's).",
        ),
        flip_augment: bool | None = typer.Option(
            None,
            "--flip-augment/--no-flip-augment",
            help="Train-time augmentation: flip half of every batch (default: the recipe's).",
        ),
        flip: bool | None = FLIP,
        train_subjects: str | None = typer.Option(
            None, "--train-subjects", help="Comma-separated training subjects (default: the protocol's)."
        ),
        test_subjects: str | None = typer.Option(
            None, "--test-subjects", help="Comma-separated test subjects (default: the protocol's)."
        ),
        actions: str | None = typer.Option(
            None, "--actions", help="Comma-separated training actions (default: the recipe's)."
        ),
        seed: int | None = typer.Option(
            None, "--seed", help="Seed of model init, dropout, window order and flips (default 0)."
        ),
        device: str | None = typer.Option(None, "--device", help="auto (CUDA when available), cpu, cuda or cuda:N."),
        amp: bool = typer.Option(False, "--amp", help="bf16 autocast (mixed precision)."),
        compile_model: bool = typer.Option(False, "--compile", help="torch.compile the model."),
        threads: int | None = THREADS,
        validate_every: int | None = typer.Option(
            None, "--validate-every", min=0, help="Validate every n epochs (0: never); logged only."
        ),
        sets: list[str] | None = typer.Option(
            None, "--set", help="Any recipe or run setting, KEY=VALUE (JSON values), repeatable."
        ),
        model_args: list[str] | None = typer.Option(
            None, "--model-arg", help="Model factory argument KEY=VALUE, repeatable."
        ),
        runs_dir: Path | None = RUNS_DIR,
        run_name: str | None = typer.Option(None, "--run-name", help="Run folder name (default: MODEL.DATASET-INPUT)."),
        resume: bool = typer.Option(False, "--resume", help="Continue the run folder's checkpoint.pt."),
        stop_after: int | None = typer.Option(
            None, "--stop-after-epoch", min=1, help="Stop after this epoch's checkpoint (continue later with --resume)."
        ),
        overwrite: bool = typer.Option(
            False,
            "--overwrite",
            help="Replace an earlier run of the same name: delete the files it wrote (nothing else).",
        ),
        no_final_eval: bool = typer.Option(False, "--no-final-eval", help="Skip the evaluation of the final weights."),
        no_card: bool = typer.Option(False, "--no-card", help="Do not write a zoo card."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the resolved config and exit."),
        max_minutes: float | None = typer.Option(
            None,
            "--max-minutes",
            help="Wall-clock budget: stop after the last epoch that fits (recorded as the epochs run).",
        ),
        no_progress: bool = NO_PROGRESS,
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary at the end."),
    ) -> None:
        """Train MODEL with its paper's recipe; writes runs/<run>/ (config, log, checkpoint, weights, result, card)."""
        from ..registry import load_plugins
        from ..results import default_runs_dir
        from ..training import default_recipe_note, train

        load_plugins()  # a plugin registers its recipes on import: load them before any lookup

        options: dict[str, Any] = {
            "data_dir": str(data_dir) if data_dir is not None else None,
            "layout": layout,
            "epochs": epochs,
            "lr": lr,
            "lr_decay": lr_decay,
            "batch_size": batch_size,
            "dropout": dropout,
            "optimizer": optimizer,
            "weight_decay": weight_decay,
            "loss": loss,
            "grad_clip_norm": grad_clip,
            "train_stride": train_stride,
            "flip_augment": flip_augment,
            "eval_flip": flip,
            "train_subjects": _csv(train_subjects),
            "test_subjects": _csv(test_subjects),
            "actions": _csv(actions),
            "seed": seed,
            "device": device,
            "amp": True if amp else None,
            "compile": True if compile_model else None,
            "num_threads": threads,
            "validate_every": validate_every,
            "runs_dir": str(runs_dir if runs_dir is not None else default_runs_dir()),
            "run_name": run_name,
        }
        config = build_config(model, dataset, input, options, sets, model_args)
        if dry_run:
            note = default_recipe_note(config.recipe)  # a real run logs it with the run's first line
            if note:
                typer.echo(f"note: {note}", err=True)
            typer.echo(config.to_json(), nl=False)
            return
        command = " ".join(shlex.quote(a) for a in ["gastbench", *sys.argv[1:]])
        result = train(
            config,
            resume=resume,
            progress=not no_progress,
            final_eval=not no_final_eval,
            write_card=not no_card,
            command=command,
            on_epoch_end=(lambda epoch: epoch >= stop_after) if stop_after else None,
            overwrite=overwrite,
            max_minutes=max_minutes,
        )
        summary = {
            "run_dir": str(result.run_dir),
            "epochs": config.epochs,
            "epochs_done": len(result.history),
            "completed": result.completed,
            **_final_loss(result.final_loss, config.loss),
            "weights": str(result.weights_path) if result.weights_path else None,
            "result": str(result.result_path) if result.result_path else None,
            "card": str(result.card_path) if result.card_path else None,
            "wall_time_s": round(result.wall_time_s, 1),
            "notes": result.notes,
        }
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
        else:
            for key, value in summary.items():
                if value not in (None, []):
                    typer.echo(f"{key}: {value}")

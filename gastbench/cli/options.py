"""Options shared by the commands: one definition, one name and one meaning per option.

A command takes these instead of declaring its own, so ``--input`` or ``--overwrite`` mean the
same thing (and default to the same value) everywhere. Names: ``--out`` is always the file a
command writes; ``--train-stride`` the frame stride a model trains at (``train``) or was trained
at (``eval``, ``infer``); ``--flip/--no-flip`` test-time flip averaging; ``--flip-augment`` the
training-time augmentation; ``--chunk-frames`` output frames per evaluation chunk and
``--batch-size`` training windows per step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

__all__ = [
    "CHUNK_FRAMES", "DATASET", "DATA_DIR", "DEVICE", "FLIP", "FORMAT", "INPUT", "JSON", "MODEL", "NO_PROGRESS",
    "OFFLINE", "OVERWRITE", "PROTOCOL", "RANDOM_INIT", "RUNS_DIR", "RUNS_DIRS", "SEED", "TABLE_OUT", "THREADS",
    "TRAIN_STRIDE", "WEIGHTS", "check_format", "write_text",
]  # fmt: skip

MODEL: Any = typer.Argument(..., help="Registered lifter, e.g. gast-t27 (`gastbench models` lists them).")
DATASET: Any = typer.Option("h36m", "--dataset", help="Dataset: h36m, humaneva or synthetic (built in).")
INPUT: Any = typer.Option(
    "gt",
    "--input",
    help="2D input: gt (ground truth projected through the cameras), cpn, sh, detectron, or any "
    "<name> of a data_2d_<dataset>_<name>.npz.",
)
DATA_DIR: Any = typer.Option(
    None, "--data-dir", help="Dataset folder (default: $GASTBENCH_DATA, else ~/.cache/gastbench/data)."
)
DEVICE: Any = typer.Option("auto", "--device", help="auto (CUDA when available), cpu, cuda or cuda:N.")
WEIGHTS: Any = typer.Option(None, "--weights", help="Local .safetensors weights (default: the zoo card's).")
RANDOM_INIT: Any = typer.Option(False, "--random-init", help="Untrained weights: a pipeline check, never a result.")
SEED: Any = typer.Option(0, "--seed", help="Seed of --random-init weights.")
OFFLINE: Any = typer.Option(
    False, "--offline", help="Never contact the Hub; use the local cache or $GASTBENCH_WEIGHTS_DIR."
)
FORMAT: Any = typer.Option("terminal", "--format", help="Table format: terminal, markdown, csv, latex or json.")
TABLE_OUT: Any = typer.Option(None, "--out", help="Write the table to this file instead of printing it.")
OVERWRITE: Any = typer.Option(
    False, "--overwrite", help="Replace an existing output file (never a file the command reads)."
)
PROTOCOL: Any = typer.Option(
    None,
    "--protocol",
    help="1 (MPJPE), 2 (P-MPJPE), n (N-MPJPE) or velocity (MPJVE); default: the dataset's headline "
    "protocol (2 for HumanEva-I, 1 otherwise).",
)
RUNS_DIR: Any = typer.Option(
    None, "--runs-dir", help="Runs folder: where records go (default: $GASTBENCH_RUNS, else ./runs)."
)
RUNS_DIRS: Any = typer.Option(
    None, "--runs-dir", help="Runs folder(s) to read records from, repeatable (default: $GASTBENCH_RUNS, else ./runs)."
)
FLIP: Any = typer.Option(
    None,
    "--flip/--no-flip",
    help="Test-time flip averaging (default: the protocol's; the paper convention: the authors').",
)
TRAIN_STRIDE: Any = typer.Option(
    None,
    "--train-stride",
    min=1,
    help="Frame stride the model was trained at, e.g. 5 for GAST-Net's 10 fps Human3.6M "
    "recipe: every frame is still scored, each lifted from the stride-N video around it (default: the weights' own, "
    "from their card or training run, else 1).",
)
CHUNK_FRAMES: Any = typer.Option(
    None,
    "--chunk-frames",
    min=1,
    help="Output frames per evaluation chunk (default: sized to the model's receptive field).",
)
NO_PROGRESS: Any = typer.Option(
    False, "--no-progress", help="No progress display (otherwise a bar, or log lines when not on a terminal)."
)
JSON: Any = typer.Option(False, "--json", help="Print JSON instead of a table.")
THREADS: Any = typer.Option(None, "--threads", min=1, help="torch CPU threads during the run (restored after).")


def check_format(fmt: str) -> None:
    """A :class:`ConfigError` for an unknown ``--format``, before any work."""
    from ..errors import ConfigError
    from ..tables import FORMATS

    if fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}; formats: {', '.join(FORMATS)}")


def write_text(text: str, fmt: str, out: Path | None) -> None:
    """Print ``text`` (rich on a terminal for the terminal format), or write it to ``out`` atomically."""
    if out is not None:
        from ..outputs import write_text_file

        write_text_file(out, text if text.endswith("\n") else text + "\n")
    elif fmt == "terminal":
        from rich.console import Console

        Console().print(text, highlight=False, soft_wrap=True, markup=False)
    else:
        typer.echo(text)

"""``gastbench export``: a lifter to ONNX, checked against torch, thin over :mod:`gastbench.export`.

Deliberate errors are not caught here: the entry point prints them as one line (exit code 3).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``export`` to the app."""

    @app.command("export")
    def export_command(
        model: str = typer.Argument(..., help="Registered lifter, e.g. gast-t27 (see `gastbench models`)."),
        onnx: Path = typer.Option(
            ..., "--onnx", help="Output .onnx file; its JSON sidecar is written beside it (.json)."
        ),
        weights: Path | None = typer.Option(
            None, "--weights", help="Local .safetensors weights (else the zoo card's)."
        ),
        random_init: bool = typer.Option(False, "--random-init", help="Untrained weights (a pipeline check)."),
        seed: int = typer.Option(0, "--seed", help="Seed for --random-init."),
        dataset: str = typer.Option("h36m", "--dataset", help="Dataset whose test sequences the export is checked on."),
        input: str = typer.Option("gt", "--input", help="Its 2D input: gt, cpn, sh, ..."),
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Dataset folder (else $GASTBENCH_DATA)."),
        check_sequences: int = typer.Option(
            4, "--check-sequences", min=1, help="Test sequences the ONNX graph is checked on."
        ),
        opset: int = typer.Option(17, "--opset", min=11, help="ONNX opset."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing .onnx / .json files."),
        as_json: bool = typer.Option(
            False, "--json", help="Print the sidecar (what was exported and the check) as JSON."
        ),
    ) -> None:
        """Export MODEL to ONNX (dynamic time axis where the model allows it), check it with onnxruntime against torch."""
        from ..export import export_model

        result, sidecar = export_model(
            model, onnx, weights=weights, random_init=random_init, seed=seed, dataset=dataset, input=input,
            data_dir=data_dir, check_sequences=check_sequences, opset=opset, overwrite=overwrite,
        )  # fmt: skip
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=2))
            return
        check = result.check or {}
        shape_in, shape_out = result.input["shape"], result.output["shape"]
        typer.echo(
            f"exported {result.model} -> {onnx} (opset {result.opset}, {result.kind}): {shape_in} -> {shape_out}"
        )
        typer.echo(f"  time axis {result.time_note}")
        typer.echo(
            f"  checked with onnxruntime {check.get('onnxruntime')} on {check.get('data')}: {check.get('frames')} frames, "
            f"max |onnx - torch| = {check.get('max_abs_diff_m', float('nan')):.2e} m (tolerance {check.get('tolerance_m')} m)"
        )
        typer.echo(f"  sidecar {sidecar}")

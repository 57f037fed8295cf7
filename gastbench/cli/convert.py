"""``gastbench convert``: the authors' checkpoints into safetensors, thin over :mod:`gastbench.convert`.

Deliberate errors are not caught here: the entry point prints them as one line and exits with code 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    """Add ``convert`` to the app."""

    @app.command("convert")
    def convert_command(
        src: Path = typer.Argument(..., help="The authors' checkpoint (.bin / .pth / .pth.tar)."),
        source_format: str = typer.Option(..., "--from", help="The family's original format (gastnet, videopose3d, martinez, semgcn, poseformer, or a plugin's; see `gastbench models`)."),
        out: Path = typer.Option(..., "--to", help="Output .safetensors file."),
        model: str = typer.Option(..., "--model", help="Target lifter, e.g. gast-t81."),
        layout: Optional[str] = typer.Option(None, "--layout", help="Input layout (default: the model's)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
        as_json: bool = typer.Option(False, "--json", help="Print the conversion report as JSON."),
    ) -> None:
        """Convert an original checkpoint into gastbench safetensors (every key and shape checked)."""
        from ..convert import convert_checkpoint

        report = convert_checkpoint(source_format, src, out, model, layout=layout, overwrite=overwrite)
        if as_json:
            typer.echo(json.dumps(report.to_dict(), indent=2))
            return
        typer.echo(f"converted {report.source} ({report.format}) -> {report.output}")
        typer.echo(f"  model {report.model}, layout {report.layout}: {report.tensors} tensors, all used, shapes checked")
        if report.renamed:
            typer.echo(f"  renamed {len(report.renamed)} key(s), e.g. {report.renamed[0]}")
        if report.filled:
            typer.echo(f"  filled {len(report.filled)} BatchNorm counter(s) absent from old checkpoints")
        if report.ignored_entries:
            typer.echo(f"  ignored non-model entries: {', '.join(report.ignored_entries)}")
        typer.echo(f"  sha256 {report.sha256}; load it with --weights {report.output}")

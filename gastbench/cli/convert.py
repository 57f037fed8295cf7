"""``gastbench convert``: the authors' checkpoints into safetensors, thin over :mod:`gastbench.convert`.

Deliberate errors are not caught here: the entry point prints them as one line and exits with code 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .options import OVERWRITE


def register(app: typer.Typer) -> None:
    """Add ``convert`` to the app."""

    @app.command("convert")
    def convert_command(
        src: Path = typer.Argument(..., help="The authors' checkpoint (.bin / .pth / .pth.tar)."),
        source_format: str = typer.Option(
            ...,
            "--from",
            help="The family's original format (gastnet, videopose3d, martinez, semgcn, poseformer, mixste, motionbert, or a plugin's; see `gastbench models`).",
        ),
        out: Path = typer.Option(..., "--out", help="Output .safetensors file."),
        model: str = typer.Option(..., "--model", help="Target lifter, e.g. gast-t81."),
        layout: str | None = typer.Option(None, "--layout", help="Input layout (default: the model's)."),
        overwrite: bool = OVERWRITE,
        stats: Path | None = typer.Option(None, "--stats", help="Martinez: stat_3d.pth.tar (3D mean/std/dim_use)."),
        stats_2d: Path | None = typer.Option(None, "--stats-2d", help="Martinez: 2D pixel mean/std/dim_use file."),
        image_size: str = typer.Option(
            "1000x1000",
            "--image-size",
            help="Martinez: the WxH the 2D statistics fold is built for (Human3.6M: 1000x1000 or 1000x1002).",
        ),
        model_args: list[str] | None = typer.Option(
            None,
            "--model-arg",
            help="Factory override KEY=VALUE for a reduced checkpoint (recorded in the output file).",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the conversion report as JSON."),
    ) -> None:
        """Convert an original checkpoint into gastbench safetensors (every key and shape checked)."""
        from ..convert import convert_checkpoint
        from ..errors import ConfigError
        from .train import _parse_assignments

        try:
            width, height = (int(v) for v in image_size.lower().split("x"))
        except ValueError:
            raise ConfigError(f"--image-size must look like 1000x1000, got {image_size!r}") from None
        report = convert_checkpoint(
            source_format,
            src,
            out,
            model,
            layout=layout,
            overwrite=overwrite,
            statistics={"stat_3d": stats, "stat_2d": stats_2d},
            image_size=(width, height),
            overrides=_parse_assignments(model_args, "--model-arg"),
        )
        if as_json:
            typer.echo(json.dumps(report.to_dict(), indent=2))
            return
        typer.echo(f"converted {report.source} ({report.format}) -> {report.output}")
        typer.echo(
            f"  model {report.model}, layout {report.layout}: {report.tensors} tensors, all used, shapes checked"
        )
        if report.renamed:
            typer.echo(f"  renamed {len(report.renamed)} key(s), e.g. {report.renamed[0]}")
        if report.filled:
            typer.echo(f"  filled {len(report.filled)} BatchNorm counter(s) absent from old checkpoints")
        if report.ignored_entries:
            typer.echo(f"  ignored non-model entries: {', '.join(report.ignored_entries)}")
        typer.echo(f"  sha256 {report.sha256}; load it with --weights {report.output}")

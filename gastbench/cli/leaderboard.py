"""``gastbench leaderboard``: measured results beside reported ones, over :func:`gastbench.leaderboard.render_leaderboard`."""

from __future__ import annotations

from pathlib import Path

import typer

from .options import DATASET, FORMAT, OVERWRITE, PROTOCOL, RUNS_DIRS, TABLE_OUT, check_format, write_text


def register(app: typer.Typer) -> None:
    """Add ``leaderboard`` to the app."""

    @app.command("leaderboard")
    def leaderboard_command(
        dataset: str = DATASET,
        input: str = typer.Option(
            "gt", "--input", help="2D input (gt, cpn, sh_ft_h36m, ...) or 'all' (one table of every input)."
        ),
        protocol: str | None = PROTOCOL,
        fmt: str = FORMAT,
        runs_dir: list[Path] | None = RUNS_DIRS,
        out: Path | None = TABLE_OUT,
        overwrite: bool = OVERWRITE,
        include_partial: bool = typer.Option(
            False,
            "--include-partial",
            help="Also list partial records (untrained, --max-sequences, synthetic, incomplete data).",
        ),
    ) -> None:
        """Measured results beside the papers' reported numbers, sorted by Avg (default protocol: the dataset's headline one)."""
        from ..errors import ConfigError
        from ..leaderboard import record_files, record_folders, render_leaderboard
        from ..results import default_runs_dir

        check_format(fmt)
        folders = list(runs_dir) if runs_dir else [default_runs_dir()]
        for folder in runs_dir or []:
            if folder.exists() and not folder.is_dir():
                raise ConfigError(f"--runs-dir {folder} is a file, not a folder of result records")
            if not folder.exists():
                typer.echo(f"warning: --runs-dir {folder} does not exist; no runs read from it", err=True)
        if out is not None:
            from ..outputs import check_output_file

            check_output_file(out, "--out", overwrite=overwrite, inputs=record_files(record_folders(folders)))
        text, warnings = render_leaderboard(dataset, None if input == "all" else input, protocol, fmt, folders,
                                            include_partial=include_partial)  # fmt: skip
        for w in warnings:
            typer.echo(f"warning: {w}", err=True)
        write_text(text, fmt, out)

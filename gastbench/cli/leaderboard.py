"""``gastbench leaderboard``: measured results beside reported ones, thin over :mod:`gastbench.leaderboard`.

Deliberate errors are not caught here: the entry point prints them as one line and exits with code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    """Add ``leaderboard`` to the app."""

    @app.command("leaderboard")
    def leaderboard_command(
        dataset: str = typer.Option("h36m", "--dataset", help="h36m, humaneva or 3dhp."),
        input: str = typer.Option("cpn", "--input", help="2D input (cpn, gt, sh_ft_h36m, ...) or 'all'."),
        protocol: Optional[int] = typer.Option(
            None, "--protocol", help="1 (MPJPE) or 2 (P-MPJPE); default 2 for HumanEva-I (the paper's Table 3), else 1."
        ),
        fmt: str = typer.Option("terminal", "--format", help="terminal, markdown, csv, latex or json."),
        runs_dir: Optional[list[Path]] = typer.Option(None, "--runs-dir", help="Result folders (default $GASTBENCH_RUNS or ./runs)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Write to this file instead of printing."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out file."),
        include_partial: bool = typer.Option(
            False, "--include-partial", help="Also list partial records (untrained, --max-sequences, synthetic, incomplete data)."
        ),
    ) -> None:
        """Measured results beside the papers' reported numbers, sorted by Avg."""
        from ..errors import ConfigError
        from ..leaderboard import leaderboard_frame
        from ..results import default_runs_dir
        from ..tables import render

        folders = list(runs_dir) if runs_dir else [default_runs_dir()]
        for folder in runs_dir or []:
            if folder.exists() and not folder.is_dir():
                raise ConfigError(f"--runs-dir {folder} is a file, not a folder of result records")
            if not folder.exists():
                typer.echo(f"warning: --runs-dir {folder} does not exist; no runs read from it", err=True)
        if out is not None:
            from ..outputs import check_output_file

            check_output_file(out, "--out", overwrite=overwrite, inputs=[p for f in folders if f.is_dir() for p in f.rglob("*.json")])
        if protocol is None:
            protocol = 2 if dataset == "humaneva" else 1
        frame, warnings = leaderboard_frame(dataset, None if input == "all" else input, protocol, folders, include_partial=include_partial)
        if frame.empty:
            raise ConfigError(
                f"no results or reported numbers for {dataset}/{input}, protocol {protocol}; "
                "evaluate a model (`gastbench eval`) or pick another --dataset/--input"
            )
        name = {1: "Protocol #1 (MPJPE, mm)", 2: "Protocol #2 (P-MPJPE, mm)"}[protocol]
        if dataset == "3dhp":
            name = "PCK@150mm / AUC (%), MPJPE (mm), ranked by PCK"
        text = render(frame, fmt, f"gastbench leaderboard: {dataset}/{input}, {name}; [reported] = paper's numbers")
        for w in warnings:
            typer.echo(f"warning: {w}", err=True)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n", encoding="utf-8")
        else:
            typer.echo(text)

"""``gastbench site``: the leaderboards and the zoo as a static website, thin over :func:`gastbench.site.build_site`.

Deliberate errors are not caught here: the entry point prints them as one line and exits with code 3.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``site`` to the app."""

    @app.command("site")
    def site_command(
        out_dir: Path = typer.Argument(
            ..., help="Folder to write the site into (absent, empty, or an earlier site with --overwrite)."
        ),
        runs_dir: list[Path] | None = typer.Option(
            None, "--runs-dir", help="Result folders read beside the zoo's results (default $GASTBENCH_RUNS or ./runs)."
        ),
        include_partial: bool = typer.Option(
            False,
            "--include-partial",
            help="Also list partial records (untrained, --max-sequences, synthetic, incomplete data).",
        ),
        overwrite: bool = typer.Option(
            False,
            "--overwrite",
            help="Replace the files an earlier `gastbench site` wrote into OUT_DIR (nothing else).",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
    ) -> None:
        """A static website of every leaderboard, zoo card and paper convention, generated from the records and cards."""
        from ..errors import ConfigError
        from ..results import default_runs_dir
        from ..site import build_site

        for folder in runs_dir or []:
            if folder.exists() and not folder.is_dir():
                raise ConfigError(f"--runs-dir {folder} is a file, not a folder of result records")
            if not folder.exists():
                typer.echo(f"warning: --runs-dir {folder} does not exist; no runs read from it", err=True)
        folders = list(runs_dir) if runs_dir else [default_runs_dir()]
        report = build_site(out_dir, runs_dirs=folders, include_partial=include_partial, overwrite=overwrite)
        for warning in report.warnings:
            typer.echo(f"warning: {warning}", err=True)
        if as_json:
            typer.echo(json.dumps(report.to_dict(), indent=2))
            return
        rows = sum(int(b["rows"]) for b in report.boards)  # type: ignore[call-overload]
        typer.echo(
            f"wrote {len(report.pages)} pages ({len(report.boards)} leaderboards, {rows} rows; {len(report.cards)} cards; "
            f"{report.records} records) to {report.out_dir}; open {Path(report.out_dir) / 'index.html'}"
        )

"""``gastbench check``: conformance checks of a lifter, thin over :mod:`gastbench.conformance`.

Deliberate errors are not caught here: the entry point prints them as one line and exits with code 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ._console import print_table


def register(app: typer.Typer) -> None:
    """Add ``check`` to the app."""

    @app.command("check")
    def check_command(
        model: str = typer.Argument(..., help="Registered lifter, e.g. gast-t27."),
        layout: str | None = typer.Option(None, "--layout", help="Input layout (default: the model's)."),
        weights: Path | None = typer.Option(None, "--weights", help="Also check that this file loads strictly."),
        dataset: str | None = typer.Option(None, "--dataset", help="Pick the card for this dataset."),
        input: str | None = typer.Option(None, "--input", help="Pick the card for this 2D input."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Conformance checks: shapes, receptive field, parameters, flip, determinism, weights."""
        from ..conformance import run_checks

        results = run_checks(model, layout=layout, weights=weights, dataset=dataset, input=input)
        failed = [r for r in results if not r.ok]
        if as_json:
            typer.echo(
                json.dumps({"model": model, "passed": not failed, "checks": [r.to_dict() for r in results]}, indent=2)
            )
        else:
            marks = {"pass": "[green]pass[/]", "fail": "[bold red]FAIL[/]", "skip": "[yellow]skip[/]"}
            print_table(f"gastbench check {model}", ["check", "result", "detail"],
                         [[r.name, marks[r.status], r.detail] for r in results])  # fmt: skip
        if failed:
            raise typer.Exit(code=1)

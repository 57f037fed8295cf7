"""Model-zoo commands: ``zoo`` (list, ``publish``), ``download``, ``convert``, ``check``, ``leaderboard``.

Thin over :mod:`gastbench.zoo`, :mod:`gastbench.hub`, :mod:`gastbench.convert`,
:mod:`gastbench.conformance` and :mod:`gastbench.leaderboard`. Deliberate errors are not
caught here: the entry point prints them as one line and exits with code 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from ._console import print_table


def card_rows(cards: list[Any]) -> list[dict[str, Any]]:
    """One row per zoo card, for the table and ``--json``."""
    rows = []
    for c in cards:
        rep = c.reported
        rows.append(
            {
                "id": c.id,
                "lifter": c.lifter,
                "layout": c.layout,
                "dataset": c.dataset,
                "input": c.input,
                "status": c.status,
                "receptive_field": c.receptive_field,
                "params": c.params or None,
                "reported_p1_mm": rep.p1_avg if rep else None,
                "reported_p2_mm": rep.p2_avg if rep else None,
                "repo_id": c.repo_id,
                "filename": c.filename,
                "revision": c.revision or None,
                "sha256": c.sha256 or None,
                "size": c.size or None,
                "license": c.license,
                "reported_source": rep.source if rep else None,
            }
        )
    return rows


def _fmt(value: Any) -> str:
    return "-" if value is None else str(value)


def register(app: typer.Typer) -> None:
    """Add the zoo commands to the app."""
    zoo_app = typer.Typer(help="Model-zoo cards: list them, publish weights.", no_args_is_help=False)

    @zoo_app.callback(invoke_without_command=True)
    def zoo_command(
        ctx: typer.Context,
        pattern: str = typer.Option("*", "--filter", help="Shell-style wildcard on card ids, e.g. 'gast-*'."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """List the zoo cards (id, status, reported Avg, weights)."""
        if ctx.invoked_subcommand is not None:
            return
        import fnmatch

        from ..cards import load_cards

        cards = [c for c in load_cards() if fnmatch.fnmatchcase(c.id, pattern)]
        rows = card_rows(cards)
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        print_table(
            "gastbench zoo (reported = paper's Avg, mm)",
            ["id", "status", "layout", "RF", "params", "P1 rep.", "P2 rep.", "sha256", "license"],
            [
                [r["id"], r["status"], r["layout"], _fmt(r["receptive_field"] or None),
                 _fmt(r["params"]), _fmt(r["reported_p1_mm"]), _fmt(r["reported_p2_mm"]),
                 (r["sha256"] or "-")[:12], r["license"]]
                for r in rows
            ],
        )  # fmt: skip

    @zoo_app.command("publish")
    def publish_command(
        card_name: str = typer.Argument(..., metavar="CARD", help="Card id, e.g. gast-t81.h36m-cpn."),
        weights: Optional[Path] = typer.Option(None, "--weights", help="The weights file (else $GASTBENCH_WEIGHTS_DIR)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be done; touch nothing."),
        private: bool = typer.Option(False, "--private", help="Create the Hub repo as private."),
        token: Optional[str] = typer.Option(None, "--token", envvar="HF_TOKEN", help="Hub token (else the saved login)."),
    ) -> None:
        """Upload a card's weights, the card and a README model card to the Hub; pin the revision."""
        from ..hub import plan_publish, publish
        from ..cards import find_card

        card = find_card(card_name, require_weights=False)
        plan = plan_publish(card, weights)
        if dry_run:
            typer.echo(f"dry run: publishing {card.id} would")
            for i, step in enumerate(plan.steps, 1):
                typer.echo(f"  {i}. {step}")
            return
        pinned = publish(plan, token=token, private=private)
        typer.echo(f"published {pinned.id} at {pinned.repo_id}@{pinned.revision}")

    app.add_typer(zoo_app, name="zoo")

    @app.command("download")
    def download_command(
        name: Optional[str] = typer.Argument(None, help="Model or card id (gast-t81 or gast-t81.h36m-cpn)."),
        all_cards: bool = typer.Option(False, "--all", help="Every card that has published weights."),
        dataset: Optional[str] = typer.Option(None, "--dataset", help="Dataset the weights were trained on."),
        input: Optional[str] = typer.Option(None, "--input", help="2D input the weights were trained on."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Prefetch verified weights into the Hub cache (for later --offline use)."""
        from ..errors import ConfigError
        from ..hub import fetch_weights
        from ..cards import find_card, load_cards

        if (name is None) == (not all_cards):
            raise ConfigError("give a model or card id, or --all (not both)")
        if all_cards:
            cards = [c for c in load_cards() if c.status == "published"]
            skipped = [c.id for c in load_cards() if c.status != "published"]
        else:
            cards, skipped = [find_card(name, dataset=dataset, input=input)], []  # type: ignore[arg-type]
        done = [{"id": c.id, "path": str(fetch_weights(c)), "sha256": c.sha256} for c in cards]
        if as_json:
            typer.echo(json.dumps({"downloaded": done, "not_published": skipped}, indent=2))
            return
        for d in done:
            typer.echo(f"{d['id']}: {d['path']} (sha256 verified)")
        if skipped:
            typer.echo(f"{len(skipped)} card(s) have no published weights yet: {', '.join(skipped)}")
        if not done and not skipped:
            typer.echo("the zoo has no cards")

    @app.command("convert")
    def convert_command(
        src: Path = typer.Argument(..., help="The authors' checkpoint (.bin / .pth / .pth.tar)."),
        source_format: str = typer.Option(..., "--from", help="gastnet, videopose3d, semgcn or martinez."),
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

    @app.command("check")
    def check_command(
        model: str = typer.Argument(..., help="Registered lifter, e.g. gast-t27."),
        layout: Optional[str] = typer.Option(None, "--layout", help="Input layout (default: the model's)."),
        weights: Optional[Path] = typer.Option(None, "--weights", help="Also check that this file loads strictly."),
        dataset: Optional[str] = typer.Option(None, "--dataset", help="Pick the card for this dataset."),
        input: Optional[str] = typer.Option(None, "--input", help="Pick the card for this 2D input."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Conformance checks: shapes, receptive field, parameters, flip, determinism, weights."""
        from ..conformance import run_checks

        results = run_checks(model, layout=layout, weights=weights, dataset=dataset, input=input)
        failed = [r for r in results if not r.ok]
        if as_json:
            typer.echo(json.dumps({"model": model, "passed": not failed, "checks": [r.to_dict() for r in results]}, indent=2))
        else:
            marks = {"pass": "[green]pass[/]", "fail": "[bold red]FAIL[/]", "skip": "[yellow]skip[/]"}
            print_table(f"gastbench check {model}", ["check", "result", "detail"],
                         [[r.name, marks[r.status], r.detail] for r in results])  # fmt: skip
        if failed:
            raise typer.Exit(code=1)

    @app.command("leaderboard")
    def leaderboard_command(
        dataset: str = typer.Option("h36m", "--dataset", help="h36m or humaneva."),
        input: str = typer.Option("cpn", "--input", help="2D input (cpn, gt, sh_ft_h36m, ...) or 'all'."),
        protocol: Optional[int] = typer.Option(
            None, "--protocol", help="1 (MPJPE) or 2 (P-MPJPE); default 2 for HumanEva-I (the paper's Table 3), else 1."
        ),
        fmt: str = typer.Option("terminal", "--format", help="terminal, markdown, csv, latex or json."),
        runs_dir: Optional[list[Path]] = typer.Option(None, "--runs-dir", help="Result folders (default $GASTBENCH_RUNS or ./runs)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Write to this file instead of printing."),
    ) -> None:
        """Measured results beside the papers' reported numbers, sorted by Avg."""
        from ..leaderboard import leaderboard_frame
        from ..results import default_runs_dir
        from ..tables import render

        folders = list(runs_dir) if runs_dir else [default_runs_dir()]
        if protocol is None:
            protocol = 2 if dataset == "humaneva" else 1
        frame, warnings = leaderboard_frame(dataset, None if input == "all" else input, protocol, folders)
        from ..errors import ConfigError

        if frame.empty:
            raise ConfigError(
                f"no results or reported numbers for {dataset}/{input}, protocol {protocol}; "
                "evaluate a model (`gastbench eval`) or pick another --dataset/--input"
            )
        name = {1: "Protocol #1 (MPJPE, mm)", 2: "Protocol #2 (P-MPJPE, mm)"}[protocol]
        text = render(frame, fmt, f"gastbench leaderboard: {dataset}/{input}, {name}; [reported] = paper's numbers")
        for w in warnings:
            typer.echo(f"warning: {w}", err=True)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n", encoding="utf-8")
        else:
            typer.echo(text)

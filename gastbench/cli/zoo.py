"""Model-zoo commands: ``zoo`` (list, ``publish``) and ``download``.

Thin over :mod:`gastbench.cards` and :mod:`gastbench.hub`. Deliberate errors are not
caught here: the entry point prints them as one line and exits with code 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ._console import print_table
from .options import JSON, OVERWRITE


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
    def zoo_command(ctx: typer.Context) -> None:
        """Model-zoo cards: `gastbench zoo` (or `zoo list PATTERN`) lists them; `publish` and `card` write them."""
        if ctx.invoked_subcommand is None:
            list_command("*", False)

    @zoo_app.command("list")
    def list_command(
        pattern: str = typer.Argument("*", help="Shell-style wildcard on card ids, e.g. 'gast-*'."),
        as_json: bool = JSON,
    ) -> None:
        """List the zoo cards (id, status, reported Avg, weights)."""
        import fnmatch

        from ..cards import load_cards

        cards = [c for c in load_cards() if fnmatch.fnmatchcase(c.id, pattern)]
        rows = card_rows(cards)
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        print_table(
            "gastbench zoo (reported = paper's Avg, mm)",
            ["id", "status", "layout", "RF", "params (M)", "P1 rep.", "P2 rep.", "sha256", "license"],
            [
                [r["id"], r["status"], r["layout"], _fmt(r["receptive_field"] or None),
                 "-" if r["params"] is None else f"{r['params'] / 1e6:.2f}", _fmt(r["reported_p1_mm"]),
                 _fmt(r["reported_p2_mm"]),
                 (r["sha256"] or "-")[:12], r["license"]]
                for r in rows
            ],
        )  # fmt: skip

    @zoo_app.command("publish")
    def publish_command(
        card_name: str = typer.Argument(..., metavar="CARD", help="Card id, e.g. gast-t81.h36m-cpn."),
        weights: Path | None = typer.Option(None, "--weights", help="The weights file (else $GASTBENCH_WEIGHTS_DIR)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be done; touch nothing."),
        private: bool = typer.Option(False, "--private", help="Create the Hub repo as private."),
        token: str | None = typer.Option(None, "--token", envvar="HF_TOKEN", help="Hub token (else the saved login)."),
    ) -> None:
        """Upload a card's weights, the card and a README model card to the Hub; pin the revision."""
        from ..cards import find_card
        from ..hub import plan_publish, publish

        card = find_card(card_name, require_weights=False)
        plan = plan_publish(card, weights)
        if dry_run:
            typer.echo(f"dry run: publishing {card.id} would")
            for i, step in enumerate(plan.steps, 1):
                typer.echo(f"  {i}. {step}")
            return
        pinned = publish(plan, token=token, private=private)
        typer.echo(f"published {pinned.id} at {pinned.repo_id}@{pinned.revision}")

    @zoo_app.command("card")
    def card_command(
        weights: Path = typer.Argument(
            ..., help="The weights (.safetensors): a `gastbench train` run's, or `gastbench convert`'s output."
        ),
        config: Path | None = typer.Option(
            None, "--config", help="That training run's config.json (for trained weights)."
        ),
        command: str | None = typer.Option(
            None, "--command", help="The training command to show on the card (with --config)."
        ),
        converted_from: Path | None = typer.Option(
            None,
            "--converted-from",
            help="The authors' original checkpoint the weights were converted from (instead of "
            "--config): the zoo card given by --card is made local, both files' sha256 in its description.",
        ),
        card_name: str | None = typer.Option(
            None, "--card", help="With --converted-from: the existing card's id, e.g. semgcn.h36m-gt."
        ),
        out: Path = typer.Option(
            ..., "--out", help="Where to write the card (e.g. zoo/<id>.toml; never the card it reads)."
        ),
        overwrite: bool = OVERWRITE,
    ) -> None:
        """Write the zoo card of a past training run's weights, or of an authors' converted checkpoint (sha256 and size as the file is now)."""
        from ..cards import find_card, write_card
        from ..errors import ConfigError
        from ..outputs import check_output_file

        if (config is None) == (converted_from is None):
            raise ConfigError(
                "give either --config (trained weights) or --converted-from (an authors' converted checkpoint)"
            )
        if config is not None:
            from ..training.finish import card_for_run

            if command is None:
                raise ConfigError("--config needs --command: the training command to show on the card")
            check_output_file(out, "--out", overwrite=overwrite, inputs=[weights, config], suffix=".toml")
            card = card_for_run(config, weights, command)
        else:
            from ..pretrained import card_for_conversion

            if card_name is None or converted_from is None:
                raise ConfigError(
                    "--converted-from needs --card: the id of the card to make local, e.g. semgcn.h36m-gt"
                )
            base = find_card(card_name, require_weights=False)
            read: list[Path] = [weights, converted_from, *([base.path] if base.path is not None else [])]
            check_output_file(out, "--out", overwrite=overwrite, inputs=read, suffix=".toml")
            card = card_for_conversion(base, weights, converted_from)
        write_card(card, out)
        typer.echo(f"wrote {out}: {card.id}, sha256 {card.sha256}, {card.size:,} bytes")

    app.add_typer(zoo_app, name="zoo")

    @app.command("download")
    def download_command(
        name: str | None = typer.Argument(None, help="Model or card id (gast-t81 or gast-t81.h36m-cpn)."),
        all_cards: bool = typer.Option(False, "--all", help="Every card that has published weights."),
        dataset: str | None = typer.Option(None, "--dataset", help="Dataset the weights were trained on."),
        input: str | None = typer.Option(None, "--input", help="2D input the weights were trained on."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Prefetch verified weights into the Hub cache (for later --offline use)."""
        from ..cards import find_card, load_cards
        from ..errors import ConfigError
        from ..hub import fetch_weights

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

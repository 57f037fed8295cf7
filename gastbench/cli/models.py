"""``gastbench models``: the registry as a table (or JSON)."""

from __future__ import annotations

import json

import typer

from ._console import print_table
from .options import JSON


def model_rows(pattern: str = "*", layout: str | None = None) -> list[dict[str, object]]:
    """One row per registered lifter: name, family, receptive field, joints, parameters."""
    from ..errors import GastbenchError
    from ..registry import create_lifter, get_lifter_spec, list_lifters  # torch loads only when a command runs

    rows: list[dict[str, object]] = []
    for name in list_lifters(pattern):
        spec = get_lifter_spec(name)
        missing = spec.missing_requirements()
        if missing:  # listed, so a user learns the model exists and what it needs
            rows.append({"name": name, "family": spec.family, "receptive_field": None, "causal": None,
                         "joints_in": None, "joints_out": None, "layout": spec.default_layout, "params": None,
                         "params_m": None, "paper": spec.paper, "needs": missing})  # fmt: skip
            continue
        try:
            lifter = create_lifter(name, layout=layout if layout in spec.layouts else None)
        except GastbenchError as exc:  # a plugin whose factory fails is listed with why, not a traceback
            rows.append({"name": name, "family": spec.family, "receptive_field": None, "causal": None,
                         "joints_in": None, "joints_out": None, "layout": spec.default_layout, "params": None,
                         "params_m": None, "paper": spec.paper, "error": str(exc)})  # fmt: skip
            continue
        rows.append(
            {
                "name": name,
                "family": spec.family,
                "receptive_field": lifter.receptive_field,
                "causal": lifter.causal,
                "joints_in": lifter.input_layout.num_joints,
                "joints_out": lifter.output_layout.num_joints,
                "layout": lifter.input_layout.name,
                "params": lifter.num_parameters(),
                "params_m": round(lifter.num_parameters() / 1e6, 2),
                "paper": spec.paper,
            }
        )
    return rows


def _params_cell(row: dict[str, object]) -> str:
    """Parameters in millions, or why the model could not be built here."""
    if row["params_m"] is not None:
        return f"{row['params_m']:.2f}"
    needs = row.get("needs")
    return f"needs {', '.join(str(n) for n in needs)}" if isinstance(needs, list) and needs else "build failed"


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models_command(
        pattern: str = typer.Argument("*", help="Shell-style wildcard, e.g. 'gast-*'."),
        layout: str = typer.Option(
            None, "--layout", help="Input layout to count parameters for (default: each model's own)."
        ),
        as_json: bool = JSON,
    ) -> None:
        """List registered lifters with receptive field, joints and parameter count."""
        rows = model_rows(pattern, layout)
        for r in rows:
            if r.get("error"):
                typer.echo(f"warning: {r['error']}", err=True)
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        print_table(
            "gastbench lifters",
            ["name", "family", "RF", "joints", "layout", "params (M)", "paper"],
            [
                [
                    str(r["name"]),
                    str(r["family"]),
                    str(r["receptive_field"] or "-"),
                    f"{r['joints_in']}->{r['joints_out']}" if r["joints_in"] else "-",
                    str(r["layout"]),
                    _params_cell(r),
                    str(r["paper"]),
                ]  # fmt: skip
                for r in rows
            ],
            right=("RF", "params (M)"),
        )

"""``gastbench data``: prepare datasets from their releases, import 2D files, list the data folder.

Thin over :mod:`gastbench.data.prepare` and :mod:`gastbench.data.inventory`. Deliberate errors
are not caught here: the entry point prints them as one line and exits with code 3.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ._console import print_table

_DATA_DIR_HELP = "Data folder (else $GASTBENCH_DATA, else the cache folder)."


def _split(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _report(files: list[Any], as_json: bool) -> None:
    from ..data.inventory import prepared_status

    rows = [{**f.to_dict(), "known": prepared_status(Path(f.path).name, f.sha256, f.content_sha256)} for f in files]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        sequences = sum(len(v) for v in row["sequences"].values())
        typer.echo(f"wrote {row['path']}: {sequences} sequences, {row['frames']} frames")
        typer.echo(f"  sha256 {row['sha256']} ({row['known']})")
        typer.echo(f"  content sha256 {row['content_sha256']}")
        for note in row["notes"]:
            typer.echo(f"  note: {note}")


def register(app: typer.Typer) -> None:
    """Add ``data`` (``prepare h36m|3dhp``, ``import-2d``, ``list``) to the app."""
    data_app = typer.Typer(help="Dataset files: prepare them from the official releases, import 2D files, list them.")
    prepare_app = typer.Typer(help="Prepare a dataset's files from its official release.")
    data_app.add_typer(prepare_app, name="prepare")
    app.add_typer(data_app, name="data")

    @prepare_app.command("h36m")
    def prepare_h36m_command(
        source: Path = typer.Option(
            ...,
            "--from",
            help="Human3.6M release folder (S*/MyPoseFeatures/D3_Positions/*.cdf) or Martinez's h36m.zip (or its extracted folder).",
        ),
        out: Path | None = typer.Option(
            None, "--out", help="Output file (default: data_3d_h36m.npz in the data folder)."
        ),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
        subjects: str | None = typer.Option(
            None, "--subjects", help="Comma-separated subjects (default: S1,S5,S6,S7,S8,S9,S11)."
        ),
        skip_corrupted_video: bool = typer.Option(
            False,
            "--skip-corrupted-video",
            help="Leave out S11 Directions, as VideoPose3D's script does (its 3D positions are sound; every gastbench protocol excludes it anyway).",
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Write data_3d_h36m.npz (VideoPose3D's layout) from the official release or Martinez's archive."""
        from ..data.paths import resolve_data_dir
        from ..data.prepare import prepare_h36m

        target = out if out is not None else resolve_data_dir(data_dir) / "data_3d_h36m.npz"
        result = prepare_h36m(
            source, target, subjects=_split(subjects), overwrite=overwrite, skip_corrupted_video=skip_corrupted_video
        )
        _report([result], as_json)

    @prepare_app.command("3dhp")
    def prepare_3dhp_command(
        source: Path = typer.Option(
            ..., "--from", help="MPI-INF-3DHP release folder (TS1..TS6/annot_data.mat, S1..S8/Seq1..2/annot.mat)."
        ),
        out_dir: Path | None = typer.Option(None, "--out-dir", help="Output folder (default: the data folder)."),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
        annotation: str = typer.Option(
            "univ_annot3", "--annotation", help="3D annotation: univ_annot3 (the papers') or annot3."
        ),
        splits: str = typer.Option(
            "test,train",
            "--split",
            help="Splits to prepare: test, train or both (a split absent from the release is skipped).",
        ),
        cameras: str = typer.Option(
            "0,1,2,4,5,6,7,8", "--cameras", help="Training cameras to keep (the lifting papers' 8 by default)."
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing output files."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Write data_test_3dhp.npz / data_train_3dhp.npz (the lifting papers' layout) from the release."""
        from ..data.paths import resolve_data_dir
        from ..data.prepare import prepare_3dhp
        from ..errors import ConfigError

        try:
            chosen = [int(c) for c in _split(cameras) or []]
        except ValueError:
            raise ConfigError(f"--cameras {cameras!r}: expected comma-separated camera numbers, e.g. 0,1,2") from None
        folder = out_dir if out_dir is not None else resolve_data_dir(data_dir)
        written = prepare_3dhp(
            source, folder, annotation=annotation, splits=_split(splits) or [], cameras=chosen, overwrite=overwrite
        )
        _report(written, as_json)

    @data_app.command("import-2d")
    def import_2d_command(
        kind: str = typer.Argument(..., help="Source format: mmpose, motionbert or arrays."),
        source: Path = typer.Argument(
            ...,
            help="The file: MMPose's annotation .npz, MotionBERT's .pkl, or an .npz of <subject>/<sequence> arrays.",
        ),
        name: str = typer.Option(
            ..., "--name", help="Input name: writes data_2d_<dataset>_<name>.npz, read with --input <name>."
        ),
        dataset: str = typer.Option("h36m", "--dataset", help="h36m or humaneva (arrays files only)."),
        layout: str | None = typer.Option(
            None, "--layout", help="Joint order of an arrays file: h36m, sh_mpii, coco, humaneva15."
        ),
        detections: Path | None = typer.Option(
            None, "--detections", help="MMPose: its CPN detections .npy, aligned with the annotation file."
        ),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
        out: Path | None = typer.Option(None, "--out", help="Output file (default: in the data folder)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Convert another tool's 2D keypoints into a 2D input file, with its source's sha256."""
        from ..data.prepare import import_2d

        result = import_2d(kind, source, name, dataset=dataset, layout=layout, detections=detections,
                           data_dir=data_dir, out=out, overwrite=overwrite)  # fmt: skip
        _report([result], as_json)

    @data_app.command("list")
    def list_command(
        data_dir: Path | None = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
        no_check: bool = typer.Option(False, "--no-check", help="Skip hashing and the zip CRC check (quick)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    ) -> None:
        """The data folder's files (sha256, checked against the known-good list) and the --input names offered."""
        from ..data.inventory import list_data

        inventory = list_data(data_dir, check=not no_check)
        if as_json:
            typer.echo(json.dumps(inventory.to_dict(), indent=2))
            return
        rows = [
            [f.name, f.dataset or "-", f.role, f.input or "-", f"{f.size / 1e6:.1f}", (f.sha256 or "-")[:16], f.status]
            for f in inventory.files
        ]
        print_table(
            f"{inventory.folder} ({inventory.origin})",
            ["file", "dataset", "role", "input", "MB", "sha256", "status"],
            rows,
            right=["MB"],
        )
        for dataset, names in inventory.inputs.items():
            typer.echo(f"{dataset}: --input {', '.join(names)}")
        if not inventory.files:
            typer.echo("no files; prepare them with `gastbench data prepare h36m|3dhp --from <release>`")

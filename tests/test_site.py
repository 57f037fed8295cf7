"""The static site without a browser: the folder rules, FLOPs per frame, badges, and a whole build whose
HTML is parsed back and compared with the records (the browser test does the same in chromium)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from gastbench.cards import load_card
from gastbench.cli import app
from gastbench.data.actions import H36M_ACTIONS
from gastbench.errors import ConfigError
from gastbench.flop_count import flops_per_frame
from gastbench.registry import create_lifter
from gastbench.results import RANDOM_INIT, EvalResult, MetricRow, ProtocolInfo, save_result
from gastbench.site import SITE_MARKER, build_site
from gastbench.site.badges import Scoring, scoring_badges
from gastbench.site.folder import check_site_dir, prepare_site_dir, site_files

ROOT = Path(__file__).resolve().parent.parent


# --- the folder rules ------------------------------------------------------------------------------


def test_a_new_or_empty_folder_is_written_and_marked(tmp_path: Path) -> None:
    out = prepare_site_dir(tmp_path / "new", planned=["index.html", "plots/a.svg"])
    assert site_files(out) == ["index.html", "plots/a.svg"]


def test_a_folder_with_someone_elses_files_is_never_written(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty.*--overwrite"):
        check_site_dir(tmp_path)
    with pytest.raises(ConfigError, match="no gastbench site marker"):
        check_site_dir(tmp_path, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_overwrite_deletes_only_what_the_earlier_site_wrote(tmp_path: Path) -> None:
    out = prepare_site_dir(tmp_path, planned=["index.html", "plots/old.svg"])
    (out / "index.html").write_text("old")
    (out / "plots").mkdir()
    (out / "plots" / "old.svg").write_text("old")
    (out / "README.txt").write_text("a user's file beside the site")
    with pytest.raises(ConfigError, match="--overwrite"):
        check_site_dir(out, planned=["index.html"])
    with pytest.raises(ConfigError, match="README.txt exists and the earlier site did not write it"):
        check_site_dir(out, overwrite=True, planned=["index.html", "README.txt"])
    prepare_site_dir(out, overwrite=True, planned=["index.html"])
    assert not (out / "index.html").exists() and not (out / "plots").exists()
    assert (out / "README.txt").read_text() == "a user's file beside the site"
    assert site_files(out) == ["index.html"]


def test_the_folder_may_not_hold_what_the_site_reads(tmp_path: Path) -> None:
    record = tmp_path / "runs" / "r.json"
    record.parent.mkdir()
    record.write_text("{}")
    with pytest.raises(ConfigError, match="which the site reads"):
        check_site_dir(tmp_path, inputs=[record])


def test_the_folder_may_not_lie_where_records_are_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="a folder records are read from"):
        check_site_dir(tmp_path / "runs" / "site", read_folders=[tmp_path / "runs"])
    check_site_dir(tmp_path / "site", read_folders=[tmp_path / "runs"])


def test_a_damaged_marker_is_an_error_not_a_deletion(tmp_path: Path) -> None:
    (tmp_path / SITE_MARKER).write_text("{not json")
    (tmp_path / "index.html").write_text("x")
    with pytest.raises(ConfigError, match="damaged"):
        prepare_site_dir(tmp_path, overwrite=True)
    assert (tmp_path / "index.html").exists()


# --- FLOPs per frame and badges --------------------------------------------------------------------


def _analytic_flops(model: nn.Module) -> int:
    """2 FLOPs per multiply-add of every Linear and Conv1d for one output frame (no sharing between frames)."""
    total = 0
    for module in model.modules():
        if isinstance(module, nn.Linear):
            total += 2 * module.in_features * module.out_features
        elif isinstance(module, nn.Conv1d):
            total += 2 * module.in_channels * module.out_channels * module.kernel_size[0]
    return total


@pytest.mark.parametrize(("name", "layout"), [("martinez", "h36m16"), ("videopose3d-t27", "humaneva")])
def test_flops_per_frame_counts_every_product_once_per_output_frame(name: str, layout: str) -> None:
    lifter = create_lifter(name, layout=layout).train()
    rng = torch.random.get_rng_state()
    assert flops_per_frame(lifter) == _analytic_flops(lifter)
    assert lifter.training and torch.equal(torch.random.get_rng_state(), rng)  # left as it was found


def test_badges_say_what_was_applied() -> None:
    paper = ProtocolInfo(convention="paper", score_stride=5, train_stride=5, flip=False, recenter="zero-prediction-root",
                         joints=["a"] * 16, precision="float32")  # fmt: skip
    labels = [b.label for b in scoring_badges(Scoring.of_record(paper))]
    assert labels == ["paper conv.", "every 5th frame", "no flip", "pred. root zeroed", "16 joints", "float32"]
    standard = ProtocolInfo(train_stride=5, causal=True, joints=["a"] * 17)
    labels = [b.label for b in scoring_badges(Scoring.of_record(standard))]
    assert labels == [
        "standard",
        "every frame",
        "model at 1/5 rate",
        "flip",
        "target root 0",
        "17 joints",
        "float64",
        "causal",
    ]


# --- a whole build, parsed back ------------------------------------------------------------------


class _Rows(HTMLParser):
    """The rows of the page's sortable table: each ``tr``'s attributes and its cells' data-key -> (data-value, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[dict[str, str], dict[str, tuple[str, str]]]] = []
        self._cell: tuple[str, str] | None = None
        self._text = ""
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "tr" and "data-kind" in a:
            self.rows.append((a, {}))
        elif tag == "td" and self.rows and "data-key" in a:
            self._cell, self._text = (a["data-key"], a.get("data-value", "")), ""
        for key in ("href", "src"):
            if key in a:
                self.links.append(a[key])

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            key, value = self._cell
            self.rows[-1][1][key] = (value, self._text.strip())
            self._cell = None


def _parse(path: Path) -> _Rows:
    parser = _Rows()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _record(model: str, avg: float, *, weights: dict[str, object]) -> EvalResult:
    per_action = {
        a: MetricRow(mpjpe_mm=avg + 0.37 * (i - 7), p_mpjpe_mm=avg - 9.81, frames=100 + i)
        for i, a in enumerate(H36M_ACTIONS)
    }
    return EvalResult(
        model=model, dataset="h36m", input="gt", per_action=per_action, weights=weights,
        average_over_actions=MetricRow(mpjpe_mm=avg, p_mpjpe_mm=avg - 9.81),
        average_over_frames=MetricRow(mpjpe_mm=avg + 0.04, p_mpjpe_mm=avg - 9.8),
        protocol=ProtocolInfo(joints=["j"] * 17), source_2d="data_2d_h36m_gt.npz", source_2d_sha256="cd" * 32,
        parameters=4_291_632, receptive_field=1, timestamp="2026-01-01T00:00:00+00:00",
    )  # fmt: skip


@pytest.mark.slow
def test_site_pages_show_the_records_numbers(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    measured = _record("martinez", 44.123, weights={"source": "file", "sha256": "ab" * 32, "card": "martinez.h36m-gt"})
    save_result(measured, runs)
    save_result(_record("semgcn", 10.0, weights={"source": RANDOM_INIT}), runs)  # partial: never listed
    cards = [load_card(ROOT / "zoo" / "martinez.h36m-gt.toml")]
    report = build_site(tmp_path / "site", runs_dirs=[runs], cards=cards)
    site = Path(report.out_dir)
    page = site / "leaderboard-h36m-gt-p1.html"
    every = _parse(page).rows
    assert all(cells["avg"][1] != "10.0" for _, cells in every)  # the untrained semgcn row is left out
    rows = [r for r in every if r[0]["data-model"] == "martinez"]  # (zoo/results adds the committed records' rows)
    assert len(rows) == 2
    (mine, cells), (paper, paper_cells) = rows if rows[0][0]["data-kind"] == "measured" else rows[::-1]
    for action, value in measured.per_action.items():
        assert cells[action][1] == f"{value.mpjpe_mm:.1f}"
        assert float(cells[action][0]) == pytest.approx(value.mpjpe_mm)
    assert cells["avg"][1] == "44.1" and cells["paper_avg"][1] == "45.5" and cells["diff"][1] == "-1.4"
    assert cells["avg_frames"][1] == f"{44.123 + 0.04:.1f}"
    assert cells["flops"][1] == f"{_analytic_flops(create_lifter('martinez', layout='h36m16')) / 1e6:.2f}"
    assert paper_cells["avg"][1] == "45.5" and paper_cells["kind"][1] == "reported"
    assert "no flip" in paper_cells["convention"][1]  # the reported row carries Martinez's paper convention
    assert json.loads((site / mine["data-record"]).read_text())["average_over_actions"]["mpjpe_mm"] == 44.123
    for name in report.pages:
        for target in _parse(site / name).links:
            if not target.startswith("https://"):
                assert (site / target.split("#")[0]).is_file(), f"{name} links to missing {target}"
    card_page = (site / "card-martinez.h36m-gt.html").read_text()
    assert mine["data-record"] in card_page and "plots/martinez.h36m-gt-p1.svg" in card_page
    first = {p: (site / p).read_bytes() for p in report.files}
    with pytest.raises(ConfigError, match="--overwrite"):
        build_site(site, runs_dirs=[runs], cards=cards)
    again = build_site(site, runs_dirs=[runs], cards=cards, overwrite=True)
    assert {p: (site / p).read_bytes() for p in again.files} == first  # same records, same site, to the byte


@pytest.mark.slow
def test_cli_site_writes_and_reports_json(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    save_result(_record("martinez", 44.0, weights={"source": "file", "sha256": "ab" * 32}), runs)
    result = CliRunner().invoke(app, ["site", str(tmp_path / "site"), "--runs-dir", str(runs), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert "index.html" in report["pages"] and (tmp_path / "site" / "index.html").is_file()
    boards = {(b["dataset"], b["input"], b["protocol"]): b["rows"] for b in report["boards"]}
    assert boards[("h36m", "gt", 1)] >= 2  # the measured row beside the papers' rows
    again = CliRunner().invoke(app, ["site", str(tmp_path / "site"), "--runs-dir", str(runs)])
    assert again.exit_code != 0 and "--overwrite" in str(again.exception or again.output)

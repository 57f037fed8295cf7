"""Leaderboard: measured records beside the cards' reported rows, with the difference; every format."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

from gastbench.data.actions import H36M_ACTIONS
from gastbench.leaderboard import DIFF_COLUMN, leaderboard_frame, render_leaderboard
from gastbench.results import EvalResult, MetricRow, save_result


def _measured(model: str, avg: float, stamp: str, input: str = "cpn") -> EvalResult:
    per_action = {a: MetricRow(mpjpe_mm=avg + (i - 7) * 0.1, p_mpjpe_mm=avg - 10) for i, a in enumerate(H36M_ACTIONS)}
    return EvalResult(
        model=model, dataset="h36m", input=input, per_action=per_action,
        average_over_actions=MetricRow(mpjpe_mm=avg, p_mpjpe_mm=avg - 10), parameters=6_915_984,
        receptive_field=27, timestamp=stamp,
    )  # fmt: skip


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    save_result(_measured("gast-t27", 47.0, "2025-01-01T00:00:00+00:00"), tmp_path)
    save_result(_measured("gast-t27", 46.5, "2025-02-01T00:00:00+00:00"), tmp_path)  # newer run wins
    (tmp_path / "broken.json").write_text("{not json")
    return tmp_path


def test_measured_beside_reported_with_difference(runs: Path) -> None:
    frame, warnings = leaderboard_frame("h36m", "cpn", 1, [runs])
    assert any("broken.json" in w for w in warnings)
    labels = list(frame.index)
    assert "gast-t27 (cpn)" in labels and "gast-t27 (cpn) [reported]" in labels
    assert labels.count("gast-t27 (cpn)") == 1
    assert frame.loc["gast-t27 (cpn)", DIFF_COLUMN] == pytest.approx(46.5 - 46.2)
    avgs = list(frame["Avg"])
    assert avgs == sorted(avgs)  # sorted by Avg
    assert frame.loc["gast-t81 (cpn) [reported]", "Avg"] == 45.7
    assert frame.loc["gast-t81 (cpn) [reported]", "Dir."] == 45.5
    assert frame.loc["gast-t27 (cpn)", "RF"] == 27


def test_protocol_two_and_humaneva() -> None:
    frame, _ = leaderboard_frame("h36m", "cpn", 2, [])
    assert frame.loc["gast-t81 (cpn) [reported]", "Avg"] == 35.9
    he, _ = leaderboard_frame("humaneva", None, 2, [])
    assert he.loc["gast-t27 (detectron_pt_coco) [reported]", "Box S2"] == 27.8
    for _source, block in he.groupby("2D input", sort=False):  # every 2D input: sorted within its own block
        assert list(block["Avg"]) == sorted(block["Avg"])


@pytest.mark.parametrize("fmt", ["terminal", "markdown", "csv", "latex", "json"])
def test_every_format(runs: Path, fmt: str) -> None:
    text, _warnings = render_leaderboard("h36m", "cpn", 1, fmt, [runs])
    assert "gast-t27 (cpn) [reported]" in text
    if fmt == "json":
        rows = json.loads(text)["rows"]
        mine = next(r for r in rows if r["method"] == "gast-t27 (cpn)")
        assert mine["Avg"] == 46.5 and mine[DIFF_COLUMN] == 0.3
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert any(r["Method"] == "gast-t27 (cpn)" and r["Avg"] == "46.5" for r in rows)
    elif fmt == "latex":
        assert "\\toprule" in text


def test_cli_leaderboard(runs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from gastbench.cli import main

    monkeypatch.setattr(
        sys, "argv", ["gastbench", "leaderboard", "--input", "gt", "--format", "json", "--runs-dir", str(runs)]
    )
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code in (0, None)
    rows = json.loads(capsys.readouterr().out)["rows"]
    by_method = {r["method"]: r for r in rows}
    assert by_method["gast-t81 (gt) [reported]"]["Avg"] == 32.5
    assert [r["Avg"] for r in rows] == sorted(r["Avg"] for r in rows)
    monkeypatch.setattr(sys, "argv", ["gastbench", "leaderboard", "--input", "nothing", "--runs-dir", str(runs)])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 3 and capsys.readouterr().err.strip().startswith("error:")


def test_cli_check_failure_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch
    from safetensors.torch import save_file

    from gastbench.cli import main

    bad = tmp_path / "bad.safetensors"
    save_file({"w": torch.zeros(1)}, str(bad))
    monkeypatch.setattr(sys, "argv", ["gastbench", "check", "semgcn", "--weights", str(bad), "--json"])
    with pytest.raises(SystemExit) as info:
        main()
    report = json.loads(capsys.readouterr().out)
    assert info.value.code == 1 and not report["passed"]
    assert {c["name"]: c["status"] for c in report["checks"]}["weights"] == "fail"
    assert {c["name"]: c["status"] for c in report["checks"]}["shape"] == "pass"


def test_both_conventions_are_shown_labelled(runs: Path) -> None:
    from gastbench.results import ProtocolInfo

    paper = _measured("gast-t27", 46.1, "2025-03-01T00:00:00+00:00")
    paper.protocol = ProtocolInfo(convention="paper", score_stride=5, precision="float32")
    save_result(paper, runs)
    frame, _ = leaderboard_frame("h36m", "cpn", 1, [runs])
    assert frame.loc["gast-t27 (cpn)", "Convention"] == "standard"
    assert frame.loc["gast-t27 (cpn) [paper]", "Convention"] == "paper"
    assert frame.loc["gast-t27 (cpn) [reported]", "Convention"] == "reported"
    assert frame.loc["gast-t27 (cpn) [paper]", DIFF_COLUMN] == pytest.approx(46.1 - 46.2)
    only_standard, _ = leaderboard_frame("h36m", "cpn", 1, [runs / "nowhere"])
    assert "Convention" not in only_standard.columns

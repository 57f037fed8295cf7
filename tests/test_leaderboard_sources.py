"""2D sources stay apart on the leaderboard: an SH row never sits in a CPN table, a mixed table says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from gastbench.data.actions import H36M_ACTIONS
from gastbench.leaderboard import (
    DIFF_COLUMN,
    INPUT_COLUMN,
    NOTES_COLUMN,
    leaderboard_frame,
    render_leaderboard,
    reported_files,
)
from gastbench.results import EvalResult, MetricRow, ProtocolInfo, save_result


def _measured(model: str, input: str, avg: float, **protocol: object) -> EvalResult:
    per_action = {a: MetricRow(mpjpe_mm=avg, p_mpjpe_mm=avg - 8) for a in H36M_ACTIONS}
    return EvalResult(
        model=model, dataset="h36m", input=input, per_action=per_action, protocol=ProtocolInfo(**protocol),  # type: ignore[arg-type]
        average_over_actions=MetricRow(mpjpe_mm=avg, p_mpjpe_mm=avg - 8), parameters=42_466_317, receptive_field=243,
        timestamp="2025-03-01T00:00:00+00:00",
    )  # fmt: skip


def test_the_papers_rows_keep_their_2d_source() -> None:
    cpn, _ = leaderboard_frame("h36m", "cpn", 1)
    sh, _ = leaderboard_frame("h36m", "sh_ft_h36m", 1)
    gt, _ = leaderboard_frame("h36m", "gt", 1)
    assert "mixste-t243 (cpn) [reported]" in cpn.index and cpn.loc["mixste-t243 (cpn) [reported]", "Avg"] == 40.9
    assert gt.loc["mixste-t243 (gt) [reported]", "Avg"] == 21.6
    # MotionBERT's rows are Stacked-Hourglass rows: both in the SH table, neither in the CPN one.
    assert not [label for label in cpn.index if "motionbert" in label or "(sh" in label]
    scratch = "motionbert (sh_ft_h36m) [reported]"
    finetuned = [label for label in sh.index if label.startswith("motionbert (sh_ft_h36m) [reported, fine-tuned")]
    assert sh.loc[scratch, "Avg"] == 39.2 and len(finetuned) == 1 and sh.loc[finetuned[0], "Avg"] == 37.2
    assert all("(sh_ft_h36m)" in label for label in sh.index)


def test_a_table_over_every_input_groups_and_labels_the_sources() -> None:
    frame, _ = leaderboard_frame("h36m", None, 1)
    assert list(frame.columns)[0] == INPUT_COLUMN
    sources = list(frame[INPUT_COLUMN])
    blocks = [s for i, s in enumerate(sources) if i == 0 or sources[i - 1] != s]
    assert len(blocks) == len(set(blocks)) >= 3  # each 2D source one block, never interleaved
    assert all(f"({source})" in label for source, label in zip(sources, frame.index))
    text, _warnings = render_leaderboard("h36m", None, 1, "markdown")
    assert "every 2D input" in text and "not comparable" in text


def test_measured_2d5_rows_are_compared_with_their_cards_row_and_say_how_they_were_scaled(tmp_path: Path) -> None:
    clips = {"clip_frames": 243, "tail": "own-length", "scoring": "once"}
    save_result(_measured("motionbert", "sh_ft_h36m", 40.0, output_scale="image-2.5d", clips=clips), tmp_path)
    save_result(_measured("motionbert", "sh_pt_mpii", 55.0, output_scale="image-2.5d", clips=clips), tmp_path)
    frame, _ = leaderboard_frame("h36m", "sh_ft_h36m", 1, [tmp_path])
    assert frame.loc["motionbert (sh_ft_h36m)", DIFF_COLUMN] == pytest.approx(40.0 - 39.2)  # the card's (scratch) row
    assert "ground-truth root depth" in frame.loc["motionbert (sh_ft_h36m)", NOTES_COLUMN]
    assert "motionbert (sh_pt_mpii)" not in frame.index  # pre-trained SH detections are another source
    other, _ = leaderboard_frame("h36m", "sh_pt_mpii", 1, [tmp_path])
    assert list(other.index) == ["motionbert (sh_pt_mpii)"] and other[DIFF_COLUMN].isna().all()


def test_reported_files_must_be_reported_records(tmp_path: Path) -> None:
    folder = tmp_path / "reported"
    folder.mkdir()
    save_result(_measured("motionbert", "sh_ft_h36m", 40.0), folder)
    (folder / "broken.json").write_text("{")
    records, warnings = reported_files([folder])
    assert records == [] and len(warnings) == 2 and any("kind 'reported'" in w for w in warnings)
    shipped, problems = reported_files()
    assert not problems and {(r.model, r.input) for r in shipped} >= {("motionbert", "sh_ft_h36m")}

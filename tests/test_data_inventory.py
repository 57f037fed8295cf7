"""``gastbench data list`` and the ``gastbench data`` commands: files, hashes, known-good list, inputs offered."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gastbench.cli import app
from gastbench.data.inventory import classify, known_entry, known_files, list_data
from gastbench.hashing import file_sha256


def test_classify_names_dataset_role_and_input() -> None:
    assert classify("data_3d_h36m.npz") == ("h36m", "3d", None)
    assert classify("data_2d_h36m_cpn_ft_h36m_dbb.npz") == ("h36m", "2d", "cpn")
    assert classify("data_2d_h36m_mb_sh.npz") == ("h36m", "2d", "mb_sh")
    assert classify("data_2d_humaneva15_detectron_pt_coco.npz") == ("humaneva", "2d", "detectron")
    assert classify("data_test_3dhp.npz") == ("3dhp", "test", "univ_annot3")
    assert classify("data_test_3dhp_annot3.npz") == ("3dhp", "test", "annot3")
    assert classify("notes.txt") == (None, "other", None)


def test_listing_checks_hashes_and_zip_crcs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    np.savez_compressed(tmp_path / "data_3d_h36m.npz", positions_3d={"S1": {"A": np.zeros((2, 32, 3), np.float32)}})
    np.savez_compressed(tmp_path / "data_2d_h36m_mine.npz", positions_2d={}, metadata={})
    np.savez_compressed(tmp_path / "data_test_3dhp.npz", data={})
    good = (tmp_path / "data_3d_h36m.npz").read_bytes()
    broken = bytearray(good)
    broken[len(broken) // 2] ^= 0xFF  # one flipped byte inside the compressed member
    (tmp_path / "data_3d_humaneva15.npz").write_bytes(bytes(broken))
    known = {"data_3d_h36m.npz": [{"sha256": file_sha256(tmp_path / "data_3d_h36m.npz"), "note": "test"}],
             "data_2d_h36m_mine.npz": [{"sha256": "0" * 64, "note": "another version"}]}  # fmt: skip
    monkeypatch.setattr("gastbench.data.inventory.known_files", lambda: known)
    inventory = list_data(tmp_path)
    status = {f.name: f.status for f in inventory.files}
    assert status["data_3d_h36m.npz"] == "known-good"
    assert status["data_2d_h36m_mine.npz"] == "differs from the known-good hash"
    assert status["data_3d_humaneva15.npz"].startswith("broken")
    assert status["data_test_3dhp.npz"] == "unknown"
    assert inventory.inputs == {"h36m": ["gt", "mine"], "humaneva": [], "3dhp": ["gt (annotation univ_annot3)"]}
    quick = list_data(tmp_path, check=False)
    assert all(f.sha256 is None for f in quick.files)


def test_cli_list_json(tmp_path: Path) -> None:
    np.savez_compressed(tmp_path / "data_3d_humaneva15.npz", positions_3d={})
    res = CliRunner().invoke(app, ["data", "list", "--data-dir", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    listing = json.loads(res.stdout)
    assert listing["files"][0]["sha256"] == file_sha256(tmp_path / "data_3d_humaneva15.npz")
    assert listing["inputs"] == {"humaneva": []}


def test_cli_prepare_and_import(tmp_path: Path) -> None:
    pytest.importorskip("cdflib", reason="cdflib is not installed: pip install 'gastbench[prepare]'")
    from release_files import write_cdf_release

    rng = np.random.default_rng(0)
    write_cdf_release(tmp_path / "release", {"S11": {"Walking": rng.normal(size=(6, 32, 3)).astype(np.float32)}})
    args = [
        "data",
        "prepare",
        "h36m",
        "--from",
        str(tmp_path / "release"),
        "--subjects",
        "S11",
        "--data-dir",
        str(tmp_path),
    ]
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)[0]
    assert report["sha256"] == file_sha256(tmp_path / "data_3d_h36m.npz")
    assert report["known"] == "not on the known-good list (its arrays differ from the known file's)"
    res = CliRunner().invoke(app, args)
    assert "exists; pass --overwrite" in str(res.exception)
    np.savez(tmp_path / "arr.npz", **{"S11/Walking": rng.uniform(0, 900, (4, 6, 17, 2))})
    res = CliRunner().invoke(app, ["data", "import-2d", "arrays", str(tmp_path / "arr.npz"), "--name", "mine",
                                   "--layout", "h36m", "--data-dir", str(tmp_path)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "data_2d_h36m_mine.npz" in res.stdout


def test_cli_errors_are_one_line_with_exit_code_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from gastbench.cli import main

    monkeypatch.setattr(
        sys,
        "argv",
        ["gastbench", "data", "prepare", "3dhp", "--from", str(tmp_path / "nowhere"), "--data-dir", str(tmp_path)],
    )
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 3
    err = capsys.readouterr().err.strip()
    assert "nowhere: no such folder" in err and len(err.splitlines()) == 1


@pytest.mark.integration
def test_known_list_matches_the_project_files(real_data_dir: Path) -> None:
    """Every known-good entry is re-measured from the project's copy of the file (never typed by hand)."""
    checked = 0
    for name, versions in known_files().items():
        path = real_data_dir / name
        if path.is_file() and path.stat().st_size < 10_000_000:
            measured = known_entry(path, versions[0]["note"])
            assert measured in versions, name
            checked += 1
        elif path.is_file():
            assert file_sha256(path) in {v["sha256"] for v in versions}, name
            checked += 1
    if not checked:
        pytest.skip(f"none of the known files is in {real_data_dir}")

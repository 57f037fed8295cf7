"""A zoo card for an authors' checkpoint converted by ``gastbench convert``: made local through the command,
both files' sha256 in its description, refused when the files do not belong together."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from gastbench import create_lifter
from gastbench.cards import find_card, load_card
from gastbench.errors import WeightsError
from gastbench.hashing import file_sha256
from gastbench.pretrained import card_for_conversion

ROOT = Path(__file__).resolve().parent.parent


def _converted(tmp_path: Path, original: Path, model: str = "semgcn") -> Path:
    original.write_bytes(b"an authors' checkpoint, as released")
    torch.manual_seed(0)
    state = {k: v.contiguous() for k, v in create_lifter(model, layout="h36m16").state_dict().items()}
    out = tmp_path / "semgcn.h36m-gt.safetensors"
    save_file(state, str(out), metadata={"layout": "h36m16", "gastbench_model": model, "source_format": "semgcn",
                                         "source_sha256": file_sha256(original), "source_file": original.name})  # fmt: skip
    return out


def test_cli_makes_the_card_local_with_both_hashes(tmp_path: Path) -> None:
    from gastbench.cli import app

    original = tmp_path / "ckpt_semgcn.pth.tar"
    weights = _converted(tmp_path, original)
    out = tmp_path / "semgcn.h36m-gt.toml"
    args = [
        "zoo",
        "card",
        str(weights),
        "--converted-from",
        str(original),
        "--card",
        "semgcn.h36m-gt",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    card = load_card(out)
    assert card.status == "local" and card.sha256 == file_sha256(weights) and card.size == weights.stat().st_size
    assert "Authors' release, converted" in card.description and file_sha256(original) in card.description
    assert card.recipe == {"name": "semgcn/h36m"} and card.command.startswith(
        "gastbench convert --from semgcn ckpt_semgcn.pth.tar"
    )
    again = card_for_conversion(card, weights, original)  # converting a converted card says it once
    assert again.description.count("Authors' release, converted") == 1
    base = find_card("semgcn.h36m-gt", require_weights=False)
    refused = CliRunner().invoke(app, [*args[:-1], str(base.path), "--overwrite"])
    assert "is an input of this run" in str(refused.exception)


def test_files_that_do_not_belong_together_are_refused(tmp_path: Path) -> None:
    original = tmp_path / "ckpt.pth.tar"
    weights = _converted(tmp_path, original)
    card = find_card("semgcn.h36m-gt", require_weights=False)
    other = tmp_path / "other.pth.tar"
    other.write_bytes(b"another checkpoint")
    with pytest.raises(WeightsError, match="metadata 'source_sha256'.*convert that file"):
        card_for_conversion(card, weights, other)
    with pytest.raises(WeightsError, match="converted for 'semgcn', but card 'martinez.h36m-gt' is for 'martinez'"):
        card_for_conversion(find_card("martinez.h36m-gt", require_weights=False), weights, original)


def test_committed_card_is_what_the_command_writes_from_the_mirror() -> None:
    mirror = Path(os.environ.get("GASTBENCH_WEIGHTS_DIR", ""))
    weights, original = mirror / "semgcn.h36m-gt.safetensors", mirror / "semgcn.h36m-gt.authors-release.pth.tar"
    if not (weights.is_file() and original.is_file()):
        pytest.skip("GASTBENCH_WEIGHTS_DIR does not hold SemGCN's release and its conversion")
    committed = load_card(ROOT / "zoo" / "semgcn.h36m-gt.toml")
    assert replace(card_for_conversion(committed, weights, original), path=committed.path) == committed

"""Original checkpoints (pickles with numpy objects, original key names) convert to identical models."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gastbench.checkpoint import load_safetensors_strict
from gastbench.checkpoint.unpickle import load_torch_checkpoint
from gastbench.convert import convert_checkpoint
from gastbench.errors import ConfigError, WeightsError
from gastbench.registry import create_lifter


def _trained_like(name: str, seed: int = 0) -> torch.nn.Module:
    """A model whose every tensor (BN statistics included) differs from a fresh init."""
    torch.manual_seed(seed)
    model = create_lifter(name)
    with torch.no_grad():
        for key, t in model.state_dict().items():
            if t.is_floating_point():
                t.add_(0.05 * torch.randn_like(t)) if "running_var" not in key else t.mul_(1.5)
            elif key.endswith("num_batches_tracked"):
                t.fill_(1234)
    return model.eval()


def _original_checkpoint(path: Path, fmt: str, model: torch.nn.Module, *, data_parallel: bool = False) -> None:
    """Save ``model``'s tensors the way the original repository does, numpy objects included."""
    state = {}
    for key, t in model.state_dict().items():
        key = key.replace(".non_local.", ".nonlocal.") if fmt == "semgcn" else key
        state[("module." if data_parallel else "") + key] = t.clone()
    container = "model_pos" if fmt in ("gastnet", "videopose3d") else "state_dict"
    ckpt = {
        "epoch": np.int64(60),
        "lr": np.float64(0.00046),
        "loss 3d train": np.float64(0.031),
        "random_state": np.random.RandomState(1234).get_state(),
        "optimizer": {"state": {}, "param_groups": [{"lr": 0.00046, "amsgrad": True, "params": [0, 1]}]},
        container: state,
    }
    torch.save(ckpt, path)


#: Martinez converts only with the statistics its pipeline applies (the parity fixture's own).
_MARTINEZ_STATS = {
    name: Path(__file__).parent / "fixtures" / "parity" / "martinez" / f"{name}.pth.tar"
    for name in ("stat_3d", "stat_2d")
}


def _outputs(model: torch.nn.Module) -> torch.Tensor:
    model.eval()
    frames = model.receptive_field + 2
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(2, frames, model.input_layout.num_joints, 2, generator=gen) * 2 - 1
    with torch.inference_mode():
        return model(x)


@pytest.mark.parametrize(
    ("fmt", "name", "data_parallel"),
    [("gastnet", "gast-t9", True), ("videopose3d", "videopose3d-t27", False),
     ("semgcn", "semgcn-nonlocal", False), ("martinez", "martinez", True)],
)  # fmt: skip
def test_original_layout_converts_to_identical_outputs(
    tmp_path: Path, fmt: str, name: str, data_parallel: bool
) -> None:
    source = _trained_like(name)
    ckpt = tmp_path / "original.bin"
    _original_checkpoint(ckpt, fmt, source, data_parallel=data_parallel)
    with pytest.raises(pickle.UnpicklingError, match="numpy"):
        torch.load(ckpt, weights_only=True)  # plain weights-only loading refuses the numpy objects
    out = tmp_path / "converted.safetensors"
    report = convert_checkpoint(fmt, ckpt, out, name, statistics=_MARTINEZ_STATS if fmt == "martinez" else None)
    assert report.tensors == len(source.state_dict()) and not report.filled
    assert "optimizer" in report.ignored_entries and "random_state" in report.ignored_entries
    if fmt == "semgcn":
        assert any(".nonlocal." in r for r in report.renamed)
    fresh = create_lifter(name)
    load_safetensors_strict(fresh, out)
    folded = {"w1.weight", "w1.bias", "w2.weight", "w2.bias"} if fmt == "martinez" else set()  # see test_parity
    if not folded:
        assert torch.equal(_outputs(fresh), _outputs(source))
    for key, t in source.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], t) != (key in folded), key


def test_legacy_checkpoint_without_bn_counters_is_filled(tmp_path: Path) -> None:
    source = _trained_like("martinez")
    state = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(
        {"state_dict": state, "epoch": np.int32(3)}, tmp_path / "old.pth.tar", _use_new_zipfile_serialization=False
    )
    report = convert_checkpoint(
        "martinez", tmp_path / "old.pth.tar", tmp_path / "m.safetensors", "martinez", statistics=_MARTINEZ_STATS
    )
    assert report.filled and all(k.endswith("num_batches_tracked") for k in report.filled)


class _Evil:
    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {_Evil.marker}",))

    marker = ""


def test_crafted_pickle_is_refused_not_run(tmp_path: Path) -> None:
    _Evil.marker = str(tmp_path / "pwned")
    path = tmp_path / "evil.bin"
    torch.save({"model_pos": {"w": torch.zeros(1)}, "payload": _Evil()}, path)
    with pytest.raises(WeightsError, match="refused: .* asks for (posix|os).system"):
        load_torch_checkpoint(path)
    with pytest.raises(WeightsError, match="refused"):
        convert_checkpoint("gastnet", path, tmp_path / "x.safetensors", "gast-t9")
    assert not (tmp_path / "pwned").exists()


def test_wrong_width_is_a_clear_error(tmp_path: Path) -> None:
    ckpt = tmp_path / "t27.bin"
    _original_checkpoint(ckpt, "gastnet", _trained_like("gast-t27"))
    with pytest.raises(WeightsError, match="channels: checkpoint 128, model 64.*graph blocks: checkpoint 3, model 4"):
        convert_checkpoint("gastnet", ckpt, tmp_path / "x.safetensors", "gast-t81")
    assert not (tmp_path / "x.safetensors").exists()


def test_wrong_family_and_bad_container(tmp_path: Path) -> None:
    ckpt = tmp_path / "m.bin"
    _original_checkpoint(ckpt, "martinez", _trained_like("martinez"))
    with pytest.raises(ConfigError, match="is a martinez lifter"):
        convert_checkpoint("gastnet", ckpt, tmp_path / "x.safetensors", "martinez")
    with pytest.raises(WeightsError, match="no 'model_pos' entry"):
        convert_checkpoint("videopose3d", ckpt, tmp_path / "x.safetensors", "videopose3d-t27")


def test_cli_unmatched_keys_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gastbench.cli import main

    model = _trained_like("semgcn")
    state = dict(model.state_dict())
    state["gconv_extra.weight"] = torch.zeros(3)
    torch.save({"state_dict": state, "epoch": np.int64(1)}, tmp_path / "ckpt.pth.tar")
    out = tmp_path / "o.safetensors"
    argv = [
        "gastbench",
        "convert",
        "--from",
        "semgcn",
        str(tmp_path / "ckpt.pth.tar"),
        "--out",
        str(out),
        "--model",
        "semgcn",
    ]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as info:
        main()
    err = " ".join(capsys.readouterr().err.split())
    assert info.value.code == 3 and "1 unmatched checkpoint key(s): gconv_extra.weight" in err
    assert err.startswith("error:") and "Traceback" not in err and not out.exists()
    del state["gconv_extra.weight"]
    torch.save({"state_dict": state, "epoch": np.int64(1)}, tmp_path / "ckpt.pth.tar")
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code in (0, None) and out.is_file()
    assert "all used, shapes checked" in capsys.readouterr().out


def test_save_safetensors_is_byte_deterministic(tmp_path: Path) -> None:
    from gastbench.checkpoint import file_sha256, save_safetensors

    tensors = {"b.weight": torch.arange(6.0).reshape(2, 3), "a.bias": torch.ones(3, dtype=torch.float64)}
    metadata = {f"key{i}": str(i) for i in range(12)}  # safetensors itself writes these in hash-map order
    shas = {
        save_safetensors(tensors, tmp_path / f"w{i}.safetensors", dict(reversed(metadata.items()))) for i in range(4)
    }
    assert len(shas) == 1 and shas == {file_sha256(tmp_path / "w0.safetensors")}
    from safetensors import safe_open

    with safe_open(str(tmp_path / "w0.safetensors"), "pt") as handle:
        assert handle.metadata() == metadata and torch.equal(handle.get_tensor("b.weight"), tensors["b.weight"])

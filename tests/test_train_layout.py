"""``gastbench train --layout``: the 2D keypoints restricted by joint name to a smaller layout."""

from __future__ import annotations

import numpy as np
import pytest

from gastbench.data import load_dataset
from gastbench.data.relayout import with_layout_2d
from gastbench.errors import ConfigError
from gastbench.skeleton import get_layout
from gastbench.training import resolve_config


def test_keypoints_are_restricted_by_joint_name() -> None:
    full = load_dataset("synthetic")
    small = with_layout_2d(full, "h36m16")
    assert small.layout_2d.name == "h36m16" and small.layout_3d == full.layout_3d
    seq_full, seq_small = full.sequences("train")[0], small.sequences("train")[0]
    index = [full.layout_2d.joint_names.index(n) for n in get_layout("h36m16").joint_names]
    np.testing.assert_array_equal(seq_small.keypoints_2d, seq_full.keypoints_2d[:, index])
    np.testing.assert_array_equal(seq_small.positions_3d, seq_full.positions_3d)
    assert with_layout_2d(full, "h36m") is full
    assert any("h36m16" in note for note in small.notes)


def test_a_layout_the_data_cannot_give_is_one_clear_error() -> None:
    small = with_layout_2d(load_dataset("synthetic"), "h36m16")
    with pytest.raises(ConfigError, match="lacks joints"):
        with_layout_2d(small, "h36m")


def test_the_layout_is_a_recorded_setting() -> None:
    config = resolve_config("martinez", "synthetic", layout="h36m16")
    assert config.layout == "h36m16" and config.to_dict()["layout"] == "h36m16"

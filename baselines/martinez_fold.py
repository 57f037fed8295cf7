"""Martinez's released weights in gastbench's units: the data normalisation folded into the network.

The PyTorch port's checkpoints (weigq/3d_pose_baseline_pytorch) take the 16 Stacked-Hourglass
joints in **pixels**, z-scored per dimension with training-set statistics (``stat_2d``: ``mean``,
``std`` (64,), ``dim_use`` (32,)), and return the 16 non-root joints **z-scored** in millimetres
(``stat_3d``: ``mean``, ``std`` (96,), ``dim_use`` (48,); ``main.py`` un-normalises with them).
Both maps are affine, so they fold exactly into the first and last linear layers:

- input: gastbench's screen-normalised ``x_n = u / w * 2 - 1``, ``y_n = v / w * 2 - h / w``, so
  ``pixels = (w / 2) * x_n + (w / 2, h / 2)`` and ``z = (pixels - mean) / std``;
  ``w1 <- w1 * (w / 2) / std``, ``b1 <- b1 + w1 @ ((w / 2, h / 2) - mean) / std``;
- output: ``metres = (z * std + mean) / 1000``: ``w2 <- w2 * std / 1000``,
  ``b2 <- (b2 * std + mean) / 1000``.

The image size is fixed in the fold. Human3.6M's cameras are 1000x1000 (55011271, 58860488)
and 1000x1002 (54138969, 60457274): a fold for 1000x1000 reads a 1000x1002 camera's y one pixel
low (the normalised y of the same pixel differs by 0.002). The converted file records the size
it was folded for (``fold_image_size``); pass the other size to fold for those cameras.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from gastbench.errors import ConfigError, WeightsError

__all__ = ["STATISTICS", "fold_martinez_statistics"]

#: What the fold needs, by the names ``gastbench convert`` gives them.
STATISTICS = ("stat_3d", "stat_2d")
#: 32-joint Human3.6M indices the original code keeps: 2D without the nose (= h36m16 order),
#: 3D without the root (= h36m joints 1..16 in order).
_JOINTS_2D = (0, 1, 2, 3, 6, 7, 8, 12, 13, 15, 17, 18, 19, 25, 26, 27)
_JOINTS_3D = (1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)


def _arrays(
    stats: Mapping[str, Any], name: str, size: int, used: tuple[int, ...], per_joint: int
) -> tuple[np.ndarray, ...]:
    if not isinstance(stats, Mapping):
        raise WeightsError(f"martinez {name}: expected a dict with mean, std, dim_use; got {type(stats).__name__}")
    missing = [k for k in ("mean", "std", "dim_use") if k not in stats]
    if missing:
        raise WeightsError(f"martinez {name}: missing {missing}; expected mean, std ({size},) and dim_use")
    mean = np.asarray(stats["mean"], dtype=np.float64).reshape(-1)
    std = np.asarray(stats["std"], dtype=np.float64).reshape(-1)
    dim_use = np.asarray(stats["dim_use"]).reshape(-1)
    expected = np.array([per_joint * j + k for j in used for k in range(per_joint)])
    if mean.shape != (size,) or std.shape != (size,):
        raise WeightsError(f"martinez {name}: mean/std of shape {mean.shape}/{std.shape}, expected ({size},)")
    if dim_use.shape != expected.shape or not np.array_equal(dim_use, expected):
        raise WeightsError(
            f"martinez {name}: dim_use {dim_use.tolist()[:8]}... is not the original code's joint selection "
            f"{expected.tolist()[:8]}... ({expected.size} dims); the fold assumes that order"
        )
    if not np.all(std[expected] > 0):
        raise WeightsError(f"martinez {name}: std is not positive on every used dimension")
    return mean[expected], std[expected]


def fold_martinez_statistics(
    tensors: dict[str, torch.Tensor], statistics: Mapping[str, Any], image_size: tuple[int, int]
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Fold the 2D z-scoring (pixels of a ``w x h`` image) and the 3D un-normalisation (mm -> m) into ``w1``/``w2``."""
    missing = [name for name in STATISTICS if statistics.get(name) is None]
    if missing:
        raise ConfigError(f"martinez: the fold needs {' and '.join(missing)} (see STATISTICS)")
    width, height = image_size
    if width <= 0 or height <= 0:
        raise ConfigError(f"martinez: image size must be positive, got {width}x{height}")
    mean_2d, std_2d = _arrays(statistics["stat_2d"], "stat_2d", 64, _JOINTS_2D, 2)
    mean_3d, std_3d = _arrays(statistics["stat_3d"], "stat_3d", 96, _JOINTS_3D, 3)
    root = np.asarray(statistics["stat_3d"]["mean"], dtype=np.float64).reshape(-1)[:3]
    if np.any(root != 0):
        raise WeightsError(
            f"martinez stat_3d: root mean {root.tolist()} is not 0: the statistics are not root-relative"
        )
    w1, b1 = tensors["w1.weight"].double(), tensors["w1.bias"].double()
    w2, b2 = tensors["w2.weight"].double(), tensors["w2.bias"].double()
    if w1.shape[1] != mean_2d.size or w2.shape[0] != mean_3d.size:
        raise WeightsError(f"martinez: w1 {tuple(w1.shape)} / w2 {tuple(w2.shape)} do not fit 16 joints in, 16 out")
    scale_in = torch.from_numpy((width / 2.0) / std_2d)
    offset_px = np.tile([width / 2.0, height / 2.0], _JOINTS_2D.__len__())
    shift_in = torch.from_numpy((offset_px - mean_2d) / std_2d)
    std_m, mean_m = torch.from_numpy(std_3d / 1000.0), torch.from_numpy(mean_3d / 1000.0)
    out = dict(tensors)
    out["w1.bias"] = (b1 + w1 @ shift_in).to(tensors["w1.bias"].dtype)
    out["w1.weight"] = (w1 * scale_in[None, :]).to(tensors["w1.weight"].dtype)
    out["w2.weight"] = (w2 * std_m[:, None]).to(tensors["w2.weight"].dtype)
    out["w2.bias"] = (b2 * std_m + mean_m).to(tensors["w2.bias"].dtype)
    metadata = {
        "fold": "martinez statistics: pixel z-scoring -> screen-normalised input; z-scored mm -> metres",
        "fold_image_size": f"{width}x{height}",
    }
    return out, metadata

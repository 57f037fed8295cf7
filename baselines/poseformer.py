"""PoseFormer (Zheng et al., ICCV 2021): a spatial transformer over the joints of each frame,
then a temporal transformer over the frames of one window, predicting the centre frame.

Built from timm's transformer block (``timm.models.vision_transformer.Block``: pre-norm
multi-head attention and MLP with timm's ``Attention``, ``Mlp`` and ``DropPath``), which is
what the reference code adapted. timm is an optional extra (``pip install "gastbench[transformers]"``):
the names below are registered without it, and building one without it is a
:class:`~gastbench.errors.ConfigError` that says what to install.

One set of weights, two execution graphs:

- *strided* (:meth:`PoseFormer.forward_strided`, the reference ``PoseTransformer.forward``):
  one window of ``RF`` frames per batch item, one output frame;
- *dilated* (:meth:`PoseFormer.forward_dilated`): whole sequences. The spatial transformer
  sees one frame at a time, so it runs once per frame and its features are shared by every
  window containing that frame; only the temporal transformer runs per sliding window,
  in groups of :attr:`PoseFormer.windows_per_pass`. In eval without autograd the same
  computation runs as one single-threaded stream per core (each its stretch of output frames,
  its passes of windows sized to the cache; :mod:`gastbench.fastpath`): nothing of a
  transformer is constant at evaluation beyond layer norms' affine maps, which their kernels
  already apply in the same pass, so there is nothing to fold, only the scheduling to fit.

Checkpoint key layout (reference ``common/model_poseformer.py`` -> this module)::

    Spatial_patch_to_embedding.{weight,bias} -> spatial_embed.{weight,bias}
    Spatial_pos_embed                        -> spatial_pos_embed
    Temporal_pos_embed                       -> temporal_pos_embed
    Spatial_blocks.{i}.<block>               -> spatial_blocks.{i}.<block>
    blocks.{i}.<block>                       -> temporal_blocks.{i}.<block>
    Spatial_norm.{weight,bias}               -> spatial_norm.{weight,bias}
    Temporal_norm.{weight,bias}              -> temporal_norm.{weight,bias}
    weighted_mean.{weight,bias}              -> weighted_mean.{weight,bias}
    head.0.{weight,bias} (LayerNorm)         -> head_norm.{weight,bias}
    head.1.{weight,bias} (Linear)            -> head.{weight,bias}
        <block> = norm1.*, attn.qkv.*, attn.proj.*, norm2.*, mlp.fc1.*, mlp.fc2.* (timm's names)

Its run script saves ``{"epoch", "lr", "random_state", "optimizer", "model_pos"}``, the model
possibly wrapped in DataParallel (``module.`` prefixes).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from functools import partial
from typing import Any

import torch
from torch import nn

from gastbench.errors import ConfigError, WeightsError
from gastbench.fastpath import chunk_rows, cpu_streams, run_streams, use_fast_path
from gastbench.lifter import Lifter, LifterMetadata, PaperConvention
from gastbench.registry import CheckpointFormat, register_lifter
from gastbench.skeleton import Skeleton

from .timm_block_fast import run_block

__all__ = [
    "PoseFormer",
    "POSEFORMER_INSTALL_HINT",
    "poseformer_checkpoint_key",
    "poseformer_checkpoint_keys",
    "poseformer_facts",
]

_FAMILY = "poseformer"
_PAPER = "Zheng et al., ICCV 2021"
_URL = "https://github.com/zczcwh/PoseFormer"
# Its evaluation (run_poseformer.py ``evaluate``) scores every test frame, always averages the
# prediction with that of the horizontally flipped input, and zeroes only the target's root.
_METADATA = LifterMetadata(
    family=_FAMILY,
    paper=_PAPER,
    url=_URL,
    convention=PaperConvention(
        score_stride=1,
        recenter="target",
        flip=True,
        precision="float32",
        note="run_poseformer.py evaluate(): every test frame, flip-averaged, ground-truth root set to 0, "
        "prediction not re-centred, all 17 joints, float32 torch.",
    ),
)
_LAYOUTS = ("h36m", "humaneva")

#: Bytes of the widest intermediate (the MLP's hidden layer) of one eval pass of windows: ~2,000
#: tokens a pass (25 windows of 81 frames), where a single-threaded pass ran fastest per window;
#: bigger passes spill the element-wise ops (norms, GELU, residual sums) out of cache.
_PASS_BYTES = 8 << 20

POSEFORMER_INSTALL_HINT = (
    'PoseFormer needs timm: pip install "gastbench[transformers]", with a torchvision that matches '
    "torch (known good: torch==2.14.1 with torchvision==0.29.1)"
)


def _timm_block() -> type[nn.Module]:
    """timm's transformer block class, or a ConfigError saying what to install."""
    try:
        from timm.models.vision_transformer import Block
    except Exception as exc:  # a torchvision built for another torch fails with RuntimeError, not ImportError
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{POSEFORMER_INSTALL_HINT} (import failed: {reason})") from None
    return Block


class PoseFormer(Lifter):
    """Spatial-temporal transformer lifter ``(B, T, J, 2) -> (B, T - RF + 1, J, 3)``.

    Args:
        layout: joint layout of both the 2D input and the 3D output.
        frames: frames per window, the receptive field (odd).
        embed_dim_ratio: spatial width per joint; the temporal width is ``joints * ratio``.
        depth: transformer blocks in each of the spatial and the temporal transformer.
        num_heads: attention heads of every block.
        mlp_ratio: MLP hidden width over block width.
        qkv_bias: bias on the query/key/value projection.
        dropout: dropout after the embeddings and inside every block.
        attn_dropout: dropout on the attention weights.
        drop_path_rate: stochastic depth of the last block (linearly from 0 over the depth).
    """

    #: Windows per temporal-transformer pass of the plain dilated graph (bounds memory, not results);
    #: the eval path sizes its passes to the cache instead (``_PASS_BYTES``).
    windows_per_pass: int = 256

    def __init__(
        self,
        *,
        layout: Skeleton,
        frames: int,
        embed_dim_ratio: int = 32,
        depth: int = 4,
        num_heads: int = 8,
        mlp_ratio: float = 2.0,
        qkv_bias: bool = True,
        dropout: float = 0.0,
        attn_dropout: float = 0.0,
        drop_path_rate: float = 0.1,
    ) -> None:
        for label, value in (("embed_dim_ratio", embed_dim_ratio), ("depth", depth), ("num_heads", num_heads)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"poseformer: {label} must be a positive integer, got {value!r}")
        joints = layout.num_joints
        if embed_dim_ratio % num_heads or (embed_dim_ratio * joints) % num_heads:
            raise ConfigError(
                f"poseformer: num_heads {num_heads} must divide the spatial width {embed_dim_ratio} "
                f"and the temporal width {embed_dim_ratio * joints}"
            )
        for label, p in (("dropout", dropout), ("attn_dropout", attn_dropout), ("drop_path_rate", drop_path_rate)):
            if not 0.0 <= float(p) < 1.0:
                raise ConfigError(f"poseformer: {label} must be in [0, 1), got {p!r}")
        block = _timm_block()
        super().__init__(
            input_layout=layout, output_layout=layout, receptive_field=frames, causal=False, metadata=_METADATA
        )
        self.embed_dim_ratio = embed_dim_ratio
        self.depth = depth
        embed_dim = embed_dim_ratio * joints
        # The reference's blocks and final norms use eps 1e-6; its head LayerNorm keeps torch's 1e-5.
        norm = partial(nn.LayerNorm, eps=1e-6)
        drop_path = [float(r) for r in torch.linspace(0, drop_path_rate, depth)]

        def blocks(dim: int) -> nn.ModuleList:
            return nn.ModuleList(
                block(
                    dim=dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, proj_drop=dropout,
                    attn_drop=attn_dropout, drop_path=drop_path[i], norm_layer=norm,
                )
                for i in range(depth)
            )  # fmt: skip

        self.spatial_embed = nn.Linear(2, embed_dim_ratio)
        self.spatial_pos_embed = nn.Parameter(torch.zeros(1, joints, embed_dim_ratio))
        self.temporal_pos_embed = nn.Parameter(torch.zeros(1, frames, embed_dim))
        self.pos_drop = nn.Dropout(float(dropout))
        self.spatial_blocks = blocks(embed_dim_ratio)
        self.temporal_blocks = blocks(embed_dim)
        self.spatial_norm = norm(embed_dim_ratio)
        self.temporal_norm = norm(embed_dim)
        # A learned weighted mean over the window's frames (a 1x1 convolution with frames as channels).
        self.weighted_mean = nn.Conv1d(frames, 1, kernel_size=1)
        self.head_norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, joints * 3)

    # --- stages -------------------------------------------------------------------
    def _spatial(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame joint features: ``(B, T, J, 2) -> (B, T, J * ratio)``."""
        batch, frames, joints, _ = x.shape
        h = self.spatial_embed(x.reshape(batch * frames, joints, 2)) + self.spatial_pos_embed
        h = self.pos_drop(h)
        for blk in self.spatial_blocks:
            h = run_block(blk, h)
        return self.spatial_norm(h).reshape(batch, frames, joints * self.embed_dim_ratio)

    def _temporal(self, windows: torch.Tensor) -> torch.Tensor:
        """One pose per window: ``(N, RF, D) -> (N, J, 3)``."""
        h = self.pos_drop(windows + self.temporal_pos_embed)
        for blk in self.temporal_blocks:
            h = run_block(blk, h)
        h = self.weighted_mean(self.temporal_norm(h)).squeeze(1)  # (N, D)
        return self.head(self.head_norm(h)).reshape(h.shape[0], self.output_layout.num_joints, 3)

    # --- graphs -------------------------------------------------------------------
    def forward_strided(self, x: torch.Tensor) -> torch.Tensor:
        """One window per item: ``(B, RF, J, 2) -> (B, 1, J, 3)``."""
        return self._temporal(self._spatial(x)).unsqueeze(1)

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        """Whole sequences: ``(B, T, J, 2) -> (B, T - RF + 1, J, 3)``, one sliding window per output."""
        if use_fast_path(self):
            return self._dilated_in_streams(x)
        batch = x.shape[0]
        features = self._spatial(x)  # (B, T, D)
        rf = self.receptive_field
        windows = features.unfold(1, rf, 1).transpose(2, 3)  # (B, N, RF, D), a view
        n_out = windows.shape[1]
        windows = windows.reshape(batch * n_out, rf, features.shape[-1])
        poses = [
            self._temporal(windows[i : i + self.windows_per_pass])
            for i in range(0, windows.shape[0], self.windows_per_pass)
        ]
        return torch.cat(poses).reshape(batch, n_out, self.output_layout.num_joints, 3)

    def _dilated_in_streams(self, x: torch.Tensor) -> torch.Tensor:
        """The eval forward (autograd off): the output frames of all sequences split into one
        single-threaded stream per core (:func:`~gastbench.fastpath.run_streams`), each stream
        lifting its stretches (spatial features of their frames, then cache-sized passes of windows)."""
        batch, frames = x.shape[:2]
        rf = self.receptive_field
        n_out = frames - rf + 1
        out = x.new_empty(batch, n_out, self.output_layout.num_joints, 3)
        fc1 = self.temporal_blocks.get_submodule("0.mlp.fc1")  # a timm Block's Mlp: the widest activation
        if not isinstance(fc1, nn.Linear):
            raise TypeError(f"PoseFormer's temporal MLP is {type(fc1).__name__}, not nn.Linear")
        hidden = fc1.out_features
        per_pass = chunk_rows(rf, hidden, x.device, budget_bytes=_PASS_BYTES)
        streams = min(cpu_streams(x.device), batch * n_out)
        bounds = [round(k * batch * n_out / streams) for k in range(streams + 1)]

        def lift(start: int, stop: int) -> None:  # flat output indices b * n_out + t
            for b in range(start // n_out, (stop - 1) // n_out + 1):
                lo, hi = max(start - b * n_out, 0), min(stop - b * n_out, n_out)
                features = self._spatial(x[b : b + 1, lo : hi + rf - 1])[0]  # (hi - lo + RF - 1, D)
                windows = features.unfold(0, rf, 1).transpose(1, 2)  # (hi - lo, RF, D), a view
                for a in range(0, hi - lo, per_pass):
                    e = min(a + per_pass, hi - lo)
                    out[b, lo + a : lo + e] = self._temporal(windows[a:e])

        run_streams([functools.partial(lift, lo, hi) for lo, hi in zip(bounds, bounds[1:])])
        return out

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, embed_dim_ratio={self.embed_dim_ratio}, depth={self.depth}"


# --- original checkpoints --------------------------------------------------------------------

_RENAMES = (
    (re.compile(r"^Spatial_patch_to_embedding\."), "spatial_embed."),
    (re.compile(r"^Spatial_pos_embed$"), "spatial_pos_embed"),
    (re.compile(r"^Temporal_pos_embed$"), "temporal_pos_embed"),
    (re.compile(r"^Spatial_blocks\."), "spatial_blocks."),
    (re.compile(r"^blocks\."), "temporal_blocks."),
    (re.compile(r"^Spatial_norm\."), "spatial_norm."),
    (re.compile(r"^Temporal_norm\."), "temporal_norm."),
    (re.compile(r"^head\.0\."), "head_norm."),
    (re.compile(r"^head\.1\."), "head."),
)


def poseformer_checkpoint_key(key: str) -> str:
    """The gastbench name of one reference ``PoseTransformer`` key; unknown keys are returned unchanged
    (so that a strict load reports them)."""
    key = key.removeprefix("module.")
    for pattern, replacement in _RENAMES:
        new, hits = pattern.subn(replacement, key)
        if hits:
            return new
    return key


def poseformer_checkpoint_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A reference state dict (``ckpt["model_pos"]``) renamed onto :class:`PoseFormer`'s keys."""
    renamed: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        new = poseformer_checkpoint_key(key)
        if new in renamed:
            raise WeightsError(f"poseformer checkpoint: keys {key!r} and another both map onto {new!r}")
        renamed[new] = tensor
    return renamed


def _count_blocks(keys: Any, prefix: str) -> int:
    rx = re.compile(rf"^{re.escape(prefix)}\.(\d+)\.")
    return len({m.group(1) for k in keys if (m := rx.match(k))})


def poseformer_facts(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Architecture facts of a state dict in gastbench names, compared before any shape check."""
    spatial = state.get("spatial_pos_embed")
    temporal = state.get("temporal_pos_embed")
    return {
        "frames": int(temporal.shape[1]) if temporal is not None and temporal.dim() == 3 else None,
        "joints": int(spatial.shape[1]) if spatial is not None and spatial.dim() == 3 else None,
        "embed dim ratio": int(spatial.shape[2]) if spatial is not None and spatial.dim() == 3 else None,
        "spatial blocks": _count_blocks(state, "spatial_blocks"),
        "temporal blocks": _count_blocks(state, "temporal_blocks"),
    }


# --- registry ---------------------------------------------------------------------------------

_OVERRIDES = (
    "dropout",
    "attn_dropout",
    "drop_path_rate",
    "embed_dim_ratio",
    "depth",
    "num_heads",
    "mlp_ratio",
    "qkv_bias",
)


def _build(layout: Skeleton, frames: int, **overrides: Any) -> PoseFormer:
    unknown = sorted(set(overrides) - set(_OVERRIDES))
    if unknown:
        raise ConfigError(f"poseformer: unknown override(s) {unknown}; supported: {', '.join(_OVERRIDES)}")
    settings = {k: v for k, v in overrides.items() if v is not None}  # None: the recipe leaves it to us
    return PoseFormer(layout=layout, frames=frames, **settings)


CHECKPOINT_FORMAT = CheckpointFormat(
    name="poseformer",
    repository="zczcwh/PoseFormer",
    containers=("model_pos",),
    facts=poseformer_facts,
    rename=poseformer_checkpoint_key,
)


def _register(name: str) -> Any:
    return register_lifter(
        name,
        family=_FAMILY,
        paper=_PAPER,
        default_layout="h36m",
        layouts=_LAYOUTS,
        tags=("temporal", "transformer"),
        checkpoint_format=CHECKPOINT_FORMAT,
        requires=("timm",),
    )


@_register("poseformer-t9")
def poseformer_t9(layout: Skeleton, **overrides: Any) -> PoseFormer:
    """PoseFormer, 9-frame window, spatial width 32 per joint, 4+4 timm blocks (needs gastbench[transformers])."""
    return _build(layout, 9, **overrides)


@_register("poseformer-t27")
def poseformer_t27(layout: Skeleton, **overrides: Any) -> PoseFormer:
    """PoseFormer, 27-frame window, spatial width 32 per joint, 4+4 timm blocks (needs gastbench[transformers])."""
    return _build(layout, 27, **overrides)


@_register("poseformer-t81")
def poseformer_t81(layout: Skeleton, **overrides: Any) -> PoseFormer:
    """PoseFormer, 81-frame window, spatial width 32 per joint, 4+4 timm blocks (needs gastbench[transformers])."""
    return _build(layout, 81, **overrides)

"""MotionBERT (Zhu et al., ICCV 2023): the dual-stream spatio-temporal transformer DSTformer, lifting
a clip of 2D keypoints with their confidence to a 3D pose for every frame of it.

Every one of ``depth`` levels runs two streams on the same input and mixes them with learned
per-token weights (``ts_attn``): a spatial-then-temporal block and a temporal-then-spatial block.
Each half-block is timm's transformer block (``timm.models.vision_transformer.Block``: pre-norm
multi-head ``Attention``, ``Mlp``, ``DropPath``) over the joints of each frame (spatial) or over the
frames of each joint (temporal): the reference's ``Attention`` in ``temporal`` mode attends over
frames per joint, which a plain attention on the transposed tokens computes. (Training-time stochastic
depth therefore drops per frame in the spatial half and per joint in the temporal half, where the
reference drops per frame in both; evaluation is unaffected, and the published recipes use 0.)

The input is three channels, ``x, y, confidence`` (the authors' ``DataReaderH36M`` appends the 2D
detector's confidence, or 1 when the source has none): a ``(B, T, J, 2)`` input gets confidence 1,
a ``(B, T, J, 3)`` input is taken as is. The output is root-relative 3D in the input's screen-normalised
units, not metres (:attr:`~gastbench.lifter.Lifter.output_scale` ``"image-2.5d"``): the evaluation
brings it to metres with each frame's 2.5D factor (:mod:`gastbench.evaluation.scale25d`). Clips are up
to ``clip_frames`` frames (the temporal embedding is sliced to the clip); whole sequences are cut into
consecutive clips, the last one at its own length, as the authors' ``infer_wild.py`` does.

timm is an optional extra (``pip install "gastbench[transformers]"``), as for PoseFormer.

Checkpoint key layout (reference ``lib/model/DSTformer.py`` -> this module)::

    joints_embed.*, pos_embed, temp_embed, norm.*, pre_logits.fc.*, head.*, ts_attn.{i}.*   (same names)
    blocks_st.{i}.norm1_s.*  -> blocks_st.{i}.spatial.norm1.*      (likewise blocks_ts)
    blocks_st.{i}.attn_s.*   -> blocks_st.{i}.spatial.attn.*       (qkv, proj)
    blocks_st.{i}.norm2_s.*  -> blocks_st.{i}.spatial.norm2.*
    blocks_st.{i}.mlp_s.*    -> blocks_st.{i}.spatial.mlp.*        (fc1, fc2)
    blocks_st.{i}.*_t.*      -> blocks_st.{i}.temporal.*           (the same four)

Its ``train.py`` saves ``{"epoch", "lr", "optimizer", "model_pos", "min_loss"}``, the model wrapped
in DataParallel (``module.`` prefixes).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import torch
from torch import nn

from gastbench.errors import ConfigError, ShapeError
from gastbench.fastpath import batch_in_streams, bias_of, use_fast_path, weight_of
from gastbench.lifter import Lifter, LifterMetadata, PaperConvention
from gastbench.recipes import register_recipe
from gastbench.registry import CheckpointFormat, count_indexed_blocks, dim_size, register_lifter
from gastbench.skeleton import Skeleton

from .timm_block_fast import run_block
from .timm_layers import timm_layers

__all__ = ["METADATA", "MotionBERT", "motionbert_checkpoint_key", "motionbert_facts"]

_FAMILY = "motionbert"
_PAPER = "Zhu et al., ICCV 2023"
_URL = "https://github.com/Walter0807/MotionBERT"
# train.py evaluate(): test clips of 243 frames at stride 243 (split_clips: a sequence's tail after its last
# whole clip is never scored), flip on (config), root of the prediction set to 0 (rootrel), to millimetres
# by res_w / 2 and the 2.5D factor, prediction and target root-relative, per-frame errors averaged per action.
METADATA = LifterMetadata(
    family=_FAMILY,
    paper=_PAPER,
    url=_URL,
    convention=PaperConvention(
        score_stride=1,
        recenter="zero-prediction-root",
        flip=True,
        precision="float64",
        clip_scoring="full-clips",
        note="train.py evaluate(): clips of 243 frames at stride 243, only frames inside whole clips scored (each "
        "sequence's tail is dropped by split_clips); flip on; rootrel sets the predicted root to 0, then both poses "
        "are made root-relative; the prediction is brought to mm by res_w/2 and the frame's 2.5D factor (gastbench: "
        "ground-truth root depth over focal length; the authors' factors come with their data release) and scored "
        "against the authors' 2.5D target (gastbench: the camera-space 3D target); the authors also drop three S9 "
        "takes (s_09_act_05_subact_02, s_09_act_10_subact_02, s_09_act_13_subact_01), which gastbench scores.",
    ),
)
_LAYOUTS = ("h36m",)


class _DualBlock(nn.Module):
    """One stream of a DSTformer level: a spatial and a temporal timm block, in the stream's order."""

    def __init__(self, make_block: Callable[[], nn.Module], spatial_first: bool) -> None:
        super().__init__()
        self.spatial = make_block()
        self.temporal = make_block()
        self.spatial_first = spatial_first

    def _over_frames(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        """The temporal block on ``(B*F, J, C)`` tokens, attending over the frames of each joint."""
        bf, joints, width = x.shape
        y = x.reshape(bf // frames, frames, joints, width).transpose(1, 2).reshape(-1, frames, width)
        y = run_block(self.temporal, y)
        return y.reshape(bf // frames, joints, frames, width).transpose(1, 2).reshape(bf, joints, width)

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        if self.spatial_first:
            return self._over_frames(run_block(self.spatial, x), frames)
        return run_block(self.spatial, self._over_frames(x, frames))


class MotionBERT(Lifter):
    """DSTformer, sequence to sequence: ``(B, T<=clip_frames, J, 2 or 3) -> (B, T, J, 3)`` in image units.

    Args:
        layout: joint layout of both the 2D input and the 3D output.
        clip_frames: the longest clip (``maxlen``, the temporal embedding's length).
        dim_feat: width of every block.
        dim_rep: width of the representation before the head.
        depth: dual-stream levels.
        num_heads: attention heads of every block.
        mlp_ratio: MLP hidden width over block width.
        qkv_bias: bias on the query/key/value projection.
        dropout: dropout after the embeddings and inside every block.
        attn_dropout: dropout on the attention weights.
        drop_path_rate: stochastic depth of the last level (linearly from 0 over the depth).
    """

    def __init__(
        self,
        *,
        layout: Skeleton,
        clip_frames: int = 243,
        dim_feat: int = 512,
        dim_rep: int = 512,
        depth: int = 5,
        num_heads: int = 8,
        mlp_ratio: float = 2.0,
        qkv_bias: bool = True,
        dropout: float = 0.0,
        attn_dropout: float = 0.0,
        drop_path_rate: float = 0.0,
    ) -> None:
        for label, value in (
            ("clip_frames", clip_frames), ("dim_feat", dim_feat), ("dim_rep", dim_rep), ("depth", depth), ("num_heads", num_heads),
        ):  # fmt: skip
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"motionbert: {label} must be a positive integer, got {value!r}")
        if dim_feat % num_heads:
            raise ConfigError(f"motionbert: num_heads {num_heads} must divide dim_feat {dim_feat}")
        for label, p in (("dropout", dropout), ("attn_dropout", attn_dropout), ("drop_path_rate", drop_path_rate)):
            if not 0.0 <= float(p) < 1.0:
                raise ConfigError(f"motionbert: {label} must be in [0, 1), got {p!r}")
        block = timm_layers("MotionBERT").Block
        # Every output frame sees the whole clip: the (longest) clip is the receptive field.
        super().__init__(
            input_layout=layout, output_layout=layout, receptive_field=clip_frames, causal=False, metadata=METADATA
        )
        self.set_clips(clip_frames, tail="own-length", shorter_clips=True)
        self.output_scale = "image-2.5d"
        self.dim_feat = dim_feat
        self.depth = depth
        joints = layout.num_joints
        norm = partial(nn.LayerNorm, eps=1e-6)  # the authors' load_backbone builds every norm with eps 1e-6
        drop_path = [float(r) for r in torch.linspace(0, drop_path_rate, depth)]

        def stream(spatial_first: bool) -> nn.ModuleList:
            def level(i: int) -> _DualBlock:
                make = partial(
                    block, dim=dim_feat, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, proj_drop=dropout,
                    attn_drop=attn_dropout, drop_path=drop_path[i], norm_layer=norm,
                )  # fmt: skip
                return _DualBlock(make, spatial_first)

            return nn.ModuleList(level(i) for i in range(depth))

        self.joints_embed = nn.Linear(3, dim_feat)
        self.pos_drop = nn.Dropout(float(dropout))
        self.blocks_st = stream(spatial_first=True)
        self.blocks_ts = stream(spatial_first=False)
        self.norm = norm(dim_feat)
        self.pre_logits = nn.Sequential(OrderedDict([("fc", nn.Linear(dim_feat, dim_rep)), ("act", nn.Tanh())]))
        self.head = nn.Linear(dim_rep, 3)
        self.temp_embed = nn.Parameter(torch.zeros(1, clip_frames, 1, dim_feat))
        self.pos_embed = nn.Parameter(torch.zeros(1, joints, dim_feat))
        nn.init.trunc_normal_(self.temp_embed, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        # The two streams start equally weighted (the reference's initialisation).
        self.ts_attn = nn.ModuleList(nn.Linear(2 * dim_feat, 2) for _ in range(depth))
        for fuse in self.ts_attn:
            nn.init.zeros_(weight_of(fuse))
            nn.init.constant_(bias_of(fuse), 0.5)

    def check_input(self, x: torch.Tensor) -> None:
        """As the contract, except that a third channel (the 2D detector's confidence) is accepted."""
        if x.dim() == 4 and x.shape[-1] == 3:
            super().check_input(x[..., :2])
            return
        super().check_input(x)

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        """One clip per item: ``(B, T, J, 2 or 3) -> (B, T, J, 3)``, confidence 1 when not given.

        In evaluation (no autograd) on a CPU the clips go through one single-threaded stream per
        core (:func:`~gastbench.fastpath.batch_in_streams`); each clip's output is unchanged.
        """
        if use_fast_path(self):
            return batch_in_streams(self._clips, x)
        return self._clips(x)

    def _clips(self, x: torch.Tensor) -> torch.Tensor:
        batch, frames, joints, channels = x.shape
        if channels == 2:
            x = torch.cat([x, torch.ones_like(x[..., :1])], dim=-1)
        elif channels != 3:
            raise ShapeError(
                f"{self.name or 'motionbert'}: expected 2 or 3 channels (x, y[, confidence]), got {tuple(x.shape)}"
            )
        h = self.joints_embed(x.reshape(batch * frames, joints, 3)) + self.pos_embed
        h = h.reshape(batch, frames, joints, -1) + self.temp_embed[:, :frames]
        h = self.pos_drop(h.reshape(batch * frames, joints, -1))
        for st, ts, fuse in zip(self.blocks_st, self.blocks_ts, self.ts_attn):
            x_st, x_ts = st(h, frames), ts(h, frames)
            alpha = fuse(torch.cat([x_st, x_ts], dim=-1)).softmax(dim=-1)
            h = x_st * alpha[..., 0:1] + x_ts * alpha[..., 1:2]
        h = self.pre_logits(self.norm(h).reshape(batch, frames, joints, -1))
        return self.head(h)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, clip_frames={self.clip_frames}, dim_feat={self.dim_feat}, depth={self.depth}"


# --- original checkpoints --------------------------------------------------------------------

_BLOCK_KEY = re.compile(r"^(blocks_st|blocks_ts)\.(\d+)\.(norm1|attn|norm2|mlp)_([st])\.(.+)$")


def motionbert_checkpoint_key(key: str) -> str:
    """The gastbench name of one reference ``DSTformer`` key; unknown keys are returned unchanged
    (so that a strict load reports them)."""
    key = key.removeprefix("module.")
    match = _BLOCK_KEY.match(key)
    if match is None:
        return key
    stream, level, part, half, rest = match.groups()
    return f"{stream}.{level}.{'spatial' if half == 's' else 'temporal'}.{part}.{rest}"


def motionbert_facts(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Architecture facts of a state dict in gastbench names, compared before any shape check."""
    return {
        "clip frames": dim_size(state, "temp_embed", 1),
        "joints": dim_size(state, "pos_embed", 1),
        "dim feat": dim_size(state, "pos_embed", 2),
        "dim rep": dim_size(state, "pre_logits.fc.weight", 0),
        "levels": count_indexed_blocks(state, r"blocks_st\.(\d+)\."),
        "mlp hidden": dim_size(state, "blocks_st.0.spatial.mlp.fc1.weight", 0),
    }


# --- registry ---------------------------------------------------------------------------------

_OVERRIDES = (
    "dropout", "attn_dropout", "drop_path_rate", "dim_feat", "dim_rep", "depth", "num_heads", "mlp_ratio", "qkv_bias",
)  # fmt: skip


def _build(layout: Skeleton, **settings: Any) -> MotionBERT:
    unknown = sorted(set(settings) - set(_OVERRIDES))
    if unknown:
        raise ConfigError(f"motionbert: unknown override(s) {unknown}; supported: {', '.join(_OVERRIDES)}")
    return MotionBERT(layout=layout, **{k: v for k, v in settings.items() if v is not None})


CHECKPOINT_FORMAT = CheckpointFormat(
    name="motionbert",
    repository="Walter0807/MotionBERT",
    containers=("model_pos",),
    facts=motionbert_facts,
    rename=motionbert_checkpoint_key,
)


def _register(name: str) -> Any:
    return register_lifter(
        name, family=_FAMILY, paper=_PAPER, default_layout="h36m", layouts=_LAYOUTS,
        tags=("seq2seq", "transformer"), checkpoint_format=CHECKPOINT_FORMAT, requires=("timm",),
    )  # fmt: skip


@_register("motionbert")
def motionbert(layout: Skeleton, **overrides: Any) -> MotionBERT:
    """MotionBERT DSTformer, 243-frame clips, width 512, MLP x2, 5 dual-stream levels (needs gastbench[transformers])."""
    return _build(layout, **{"dim_feat": 512, "mlp_ratio": 2.0, **overrides})


@_register("motionbert-lite")
def motionbert_lite(layout: Skeleton, **overrides: Any) -> MotionBERT:
    """MotionBERT-Lite DSTformer, 243-frame clips, width 256, MLP x4, 5 dual-stream levels (needs gastbench[transformers])."""
    return _build(layout, **{"dim_feat": 256, "mlp_ratio": 4.0, **overrides})


# How the authors trained it from scratch (configs/pose3d/MB_train_h36m.yaml, train.py), for the zoo cards:
# AdamW with weight decay 0.01, lr 2e-4 times 0.99 per epoch, 120 epochs, 32 clips of 243 frames per batch,
# flip augmentation, no dropout. Its loss adds 0.5 N-MPJPE and 20 x velocity error to the MPJPE, which the
# recipe vocabulary names "mpjpe" only; gastbench does not train seq2seq lifters.
register_recipe(_FAMILY, "common", {"optimizer": "adamw", "weight_decay": 0.01, "lr": 2e-4, "lr_decay": 0.99,
                                    "lr_schedule": "epoch", "loss": "mpjpe", "flip_augment": True, "eval_flip": True,
                                    "dropout": 0.0})  # fmt: skip
register_recipe(_FAMILY, "h36m", {"epochs": 120, "batch_size": 32})

"""MixSTE (Zhang et al., CVPR 2022): a sequence-to-sequence encoder alternating spatial and temporal
transformer blocks over a whole clip, predicting a pose for every frame of it.

Each of ``depth`` levels runs a spatial block over the joints of every frame, then a temporal block
over the frames of every joint, both timm's transformer block
(``timm.models.vision_transformer.Block``: pre-norm multi-head ``Attention``, ``Mlp``, ``DropPath``)
at one width; one spatial and one temporal LayerNorm are shared by all levels (the reference
``MixSTE2``). A clip is exactly ``frames`` frames (the learned temporal position embedding has that
length); whole sequences are cut into clips by the evaluation engine, the last one aligned to the
sequence's end as the authors' ``eval_data_prepare`` does (:mod:`gastbench.evaluation.clips`).

timm is an optional extra (``pip install "gastbench[transformers]"``): the names below are registered
without it, and building one without it is a :class:`~gastbench.errors.ConfigError` that says what
to install.

Checkpoint key layout (reference ``common/model_cross.py`` ``MixSTE2`` -> this module)::

    Spatial_patch_to_embedding.{weight,bias} -> spatial_embed.{weight,bias}
    Spatial_pos_embed                        -> spatial_pos_embed
    Temporal_pos_embed                       -> temporal_pos_embed
    STEblocks.{i}.<block>                    -> spatial_blocks.{i}.<block>
    TTEblocks.{i}.<block>                    -> temporal_blocks.{i}.<block>
    Spatial_norm.{weight,bias}               -> spatial_norm.{weight,bias}
    Temporal_norm.{weight,bias}              -> temporal_norm.{weight,bias}
    head.0.{weight,bias} (LayerNorm)         -> head_norm.{weight,bias}
    head.1.{weight,bias} (Linear)            -> head.{weight,bias}
        <block> = norm1.*, attn.qkv.*, attn.proj.*, norm2.*, mlp.fc1.*, mlp.fc2.* (timm's names)

Its ``run.py`` saves ``{"epoch", "lr", "random_state", "optimizer", "model_pos", ...}``, the model
wrapped in DataParallel (``module.`` prefixes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from typing import Any

import torch
from torch import nn

from gastbench.errors import ConfigError, WeightsError
from gastbench.fastpath import batch_in_streams, use_fast_path
from gastbench.lifter import Lifter, LifterMetadata, PaperConvention
from gastbench.recipes import register_recipe
from gastbench.registry import CheckpointFormat, count_indexed_blocks, dim_size, register_lifter
from gastbench.skeleton import Skeleton

from .timm_block_fast import run_block
from .timm_layers import timm_layers

__all__ = ["METADATA", "MixSTE", "mixste_checkpoint_key", "mixste_facts"]

_FAMILY = "mixste"
_PAPER = "Zhang et al., CVPR 2022"
_URL = "https://github.com/JinluZhang1126/MixSTE"
# run.py evaluate(): each sequence cut by eval_data_prepare into 243-frame clips, the last aligned to the
# end; every clip frame scored (overlap frames twice), flip always on, ground-truth root set to 0,
# torch float32 mpjpe weighted by clip frames, per action, mean over actions.
METADATA = LifterMetadata(
    family=_FAMILY,
    paper=_PAPER,
    url=_URL,
    convention=PaperConvention(
        score_stride=1,
        recenter="target",
        flip=True,
        precision="float32",
        clip_scoring="clip-layout",
        note="run.py evaluate() with eval_data_prepare: clips of the model's length, the last one the sequence's "
        "last frames, every clip frame scored, so the last clip's overlap with its neighbour is scored twice "
        "(a sequence shorter than a clip is padded and its padded frames scored against the last target); flip "
        "always on; ground-truth root set to 0, prediction not re-centred; all 17 joints; float32 torch.",
    ),
)
_LAYOUTS = ("h36m", "humaneva")


class MixSTE(Lifter):
    """Mixed spatio-temporal encoder, sequence to sequence: ``(B, frames, J, 2) -> (B, frames, J, 3)``.

    Args:
        layout: joint layout of both the 2D input and the 3D output.
        frames: frames per clip (the length of the temporal position embedding).
        embed_dim: width of every block (the reference's ``embed_dim_ratio``, ``-cs``).
        depth: spatial-temporal levels (``-dep``).
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
        frames: int,
        embed_dim: int = 512,
        depth: int = 8,
        num_heads: int = 8,
        mlp_ratio: float = 2.0,
        qkv_bias: bool = True,
        dropout: float = 0.0,
        attn_dropout: float = 0.0,
        drop_path_rate: float = 0.1,
    ) -> None:
        for label, value in (("frames", frames), ("embed_dim", embed_dim), ("depth", depth), ("num_heads", num_heads)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"mixste: {label} must be a positive integer, got {value!r}")
        if embed_dim % num_heads:
            raise ConfigError(f"mixste: num_heads {num_heads} must divide embed_dim {embed_dim}")
        for label, p in (("dropout", dropout), ("attn_dropout", attn_dropout), ("drop_path_rate", drop_path_rate)):
            if not 0.0 <= float(p) < 1.0:
                raise ConfigError(f"mixste: {label} must be in [0, 1), got {p!r}")
        block = timm_layers("MixSTE").Block
        # Every output frame sees the whole clip: the clip is the receptive field.
        super().__init__(
            input_layout=layout, output_layout=layout, receptive_field=frames, causal=False, metadata=METADATA
        )
        self.set_clips(frames, tail="align-end")
        self.embed_dim = embed_dim
        self.depth = depth
        joints = layout.num_joints
        # The reference's blocks and shared norms use eps 1e-6; its head LayerNorm keeps torch's 1e-5.
        norm = partial(nn.LayerNorm, eps=1e-6)
        drop_path = [float(r) for r in torch.linspace(0, drop_path_rate, depth)]

        def blocks() -> nn.ModuleList:
            return nn.ModuleList(
                block(
                    dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, proj_drop=dropout,
                    attn_drop=attn_dropout, drop_path=drop_path[i], norm_layer=norm,
                )
                for i in range(depth)
            )  # fmt: skip

        self.spatial_embed = nn.Linear(2, embed_dim)
        self.spatial_pos_embed = nn.Parameter(torch.zeros(1, joints, embed_dim))
        self.temporal_pos_embed = nn.Parameter(torch.zeros(1, frames, embed_dim))
        self.pos_drop = nn.Dropout(float(dropout))
        self.spatial_blocks = blocks()
        self.temporal_blocks = blocks()
        self.spatial_norm = norm(embed_dim)
        self.temporal_norm = norm(embed_dim)
        self.head_norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, 3)

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        """One clip per item: ``(B, frames, J, 2) -> (B, frames, J, 3)``.

        In evaluation (no autograd) on a CPU the clips go through one single-threaded stream per
        core (:func:`~gastbench.fastpath.batch_in_streams`); each clip's output is unchanged.
        """
        if use_fast_path(self):
            return batch_in_streams(self._clips, x)
        return self._clips(x)

    def _clips(self, x: torch.Tensor) -> torch.Tensor:
        batch, frames, joints, _ = x.shape
        width = self.embed_dim
        h = self.pos_drop(self.spatial_embed(x.reshape(batch * frames, joints, 2)) + self.spatial_pos_embed)
        for level in range(self.depth):
            h = self.spatial_norm(run_block(self.spatial_blocks[level], h))  # (B*F, J, C): joints of each frame
            h = h.reshape(batch, frames, joints, width).transpose(1, 2).reshape(batch * joints, frames, width)
            if level == 0:
                h = self.pos_drop(h + self.temporal_pos_embed)
            h = self.temporal_norm(run_block(self.temporal_blocks[level], h))  # (B*J, F, C): frames of each joint
            h = h.reshape(batch, joints, frames, width).transpose(1, 2).reshape(batch * frames, joints, width)
        return self.head(self.head_norm(h)).reshape(batch, frames, joints, 3)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, clip_frames={self.clip_frames}, embed_dim={self.embed_dim}, depth={self.depth}"


# --- original checkpoints --------------------------------------------------------------------

_RENAMES = (
    (re.compile(r"^Spatial_patch_to_embedding\."), "spatial_embed."),
    (re.compile(r"^Spatial_pos_embed$"), "spatial_pos_embed"),
    (re.compile(r"^Temporal_pos_embed$"), "temporal_pos_embed"),
    (re.compile(r"^STEblocks\."), "spatial_blocks."),
    (re.compile(r"^TTEblocks\."), "temporal_blocks."),
    (re.compile(r"^Spatial_norm\."), "spatial_norm."),
    (re.compile(r"^Temporal_norm\."), "temporal_norm."),
    (re.compile(r"^head\.0\."), "head_norm."),
    (re.compile(r"^head\.1\."), "head."),
)


def mixste_checkpoint_key(key: str) -> str:
    """The gastbench name of one reference ``MixSTE2`` key; unknown keys are returned unchanged
    (so that a strict load reports them)."""
    key = key.removeprefix("module.")
    for pattern, replacement in _RENAMES:
        new, hits = pattern.subn(replacement, key)
        if hits:
            return new
    return key


def mixste_checkpoint_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A reference state dict (``ckpt["model_pos"]``) renamed onto :class:`MixSTE`'s keys."""
    renamed: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        new = mixste_checkpoint_key(key)
        if new in renamed:
            raise WeightsError(f"mixste checkpoint: keys {key!r} and another both map onto {new!r}")
        renamed[new] = tensor
    return renamed


def mixste_facts(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Architecture facts of a state dict in gastbench names, compared before any shape check."""
    return {
        "frames": dim_size(state, "temporal_pos_embed", 1),
        "joints": dim_size(state, "spatial_pos_embed", 1),
        "embed dim": dim_size(state, "spatial_pos_embed", 2),
        "spatial blocks": count_indexed_blocks(state, r"spatial_blocks\.(\d+)\."),
        "temporal blocks": count_indexed_blocks(state, r"temporal_blocks\.(\d+)\."),
    }


# --- registry ---------------------------------------------------------------------------------

_OVERRIDES = ("dropout", "attn_dropout", "drop_path_rate", "embed_dim", "depth", "num_heads", "mlp_ratio", "qkv_bias")


def _build(layout: Skeleton, frames: int, **overrides: Any) -> MixSTE:
    unknown = sorted(set(overrides) - set(_OVERRIDES))
    if unknown:
        raise ConfigError(f"mixste: unknown override(s) {unknown}; supported: {', '.join(_OVERRIDES)}")
    settings = {k: v for k, v in overrides.items() if v is not None}  # None: the recipe leaves it to us
    return MixSTE(layout=layout, frames=frames, **settings)


CHECKPOINT_FORMAT = CheckpointFormat(
    name="mixste",
    repository="JinluZhang1126/MixSTE",
    containers=("model_pos",),
    facts=mixste_facts,
    rename=mixste_checkpoint_key,
)


def _register(name: str) -> Any:
    return register_lifter(
        name, family=_FAMILY, paper=_PAPER, default_layout="h36m", layouts=_LAYOUTS,
        tags=("seq2seq", "transformer"), checkpoint_format=CHECKPOINT_FORMAT, requires=("timm",),
    )  # fmt: skip


@_register("mixste-t27")
def mixste_t27(layout: Skeleton, **overrides: Any) -> MixSTE:
    """MixSTE, 27-frame clips, width 512, 8 spatial+temporal timm block levels, seq2seq (needs gastbench[transformers])."""
    return _build(layout, 27, **overrides)


@_register("mixste-t81")
def mixste_t81(layout: Skeleton, **overrides: Any) -> MixSTE:
    """MixSTE, 81-frame clips, width 512, 8 spatial+temporal timm block levels, seq2seq (needs gastbench[transformers])."""
    return _build(layout, 81, **overrides)


@_register("mixste-t243")
def mixste_t243(layout: Skeleton, **overrides: Any) -> MixSTE:
    """MixSTE, 243-frame clips, width 512, 8 spatial+temporal timm block levels, seq2seq (needs gastbench[transformers])."""
    return _build(layout, 243, **overrides)


# How the authors trained it (run.py, common/arguments.py defaults, README command), for the zoo cards:
# AdamW with weight decay 0.1, lr 4e-5 times 0.99 per epoch, 120 epochs, 1024 predicted frames per batch,
# flip at train and test time, no dropout. Its loss is a joint-weighted MPJPE plus temporal-consistency and
# velocity terms, which the recipe vocabulary names "mpjpe" only; gastbench does not train seq2seq lifters.
register_recipe(_FAMILY, "common", {"optimizer": "adamw", "weight_decay": 0.1, "lr": 4e-5, "lr_decay": 0.99,
                                    "lr_schedule": "epoch", "loss": "mpjpe", "flip_augment": True, "eval_flip": True,
                                    "dropout": 0.0})  # fmt: skip
register_recipe(_FAMILY, "h36m", {"epochs": 120, "batch_size": 1024})

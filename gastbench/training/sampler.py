"""Which windows each step trains on, and which of them are flipped; DDP-aware and resumable.

Every rank holds the same generator and draws the same permutation; rank ``r`` of ``W`` takes
``perm[r::W]`` (after trimming the permutation to a multiple of ``W``), so step ``i`` of all
ranks together covers exactly the global batch ``perm[i*B:(i+1)*B]`` of a one-process run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..errors import ConfigError

__all__ = ["WindowSampler", "EpochPlan"]


@dataclass
class EpochPlan:
    """One epoch of one rank: sample indices and flip flags, cut into batches."""

    index: torch.Tensor
    flip: torch.Tensor
    batch_size: int

    def __len__(self) -> int:
        return (len(self.index) + self.batch_size - 1) // self.batch_size

    def batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, len(self.index), self.batch_size):
            yield self.index[start : start + self.batch_size], self.flip[start : start + self.batch_size]


class WindowSampler:
    """Shuffles ``num_samples`` windows per epoch and picks exactly half of every global batch to flip.

    Args:
        num_samples: windows in the training split.
        batch_size: global batch size (``W`` ranks take ``batch_size / W`` each).
        seed: seeds the generator (its state is checkpointed, so a resumed run draws the same).
        flip: False disables flipping (all flags False).
        rank / world_size: this process and the process count (DDP).
    """

    def __init__(
        self, num_samples: int, batch_size: int, *, seed: int, flip: bool = True, rank: int = 0, world_size: int = 1
    ) -> None:
        if num_samples < 1:
            raise ConfigError("sampler: no training windows")
        if batch_size % world_size != 0:
            raise ConfigError(f"batch size {batch_size} must be divisible by the number of processes {world_size}")
        if num_samples < world_size:
            raise ConfigError(f"sampler: {num_samples} windows cannot be shared by {world_size} processes")
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.flip = flip
        self.rank = rank
        self.world_size = world_size
        self.generator = torch.Generator(device="cpu")
        self.generator.manual_seed(int(seed))

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.generator.set_state(state["generator"])

    def _flip_flags(self, n: int) -> torch.Tensor:
        # Exactly half (rounded down) of every global batch, chosen at random within the batch.
        batches = (n + self.batch_size - 1) // self.batch_size
        keys = torch.rand(batches * self.batch_size, generator=self.generator)
        keys[n:] = 2.0  # padding sorts last, so it never takes a flip slot of the short final batch
        order = keys.view(batches, self.batch_size).argsort(dim=1).argsort(dim=1)
        sizes = torch.full((batches,), self.batch_size)
        sizes[-1] = n - (batches - 1) * self.batch_size
        return (order < (sizes // 2)[:, None]).reshape(-1)[:n]

    def plan_epoch(self) -> EpochPlan:
        """Draw the next epoch (advances the generator identically on every rank)."""
        perm = torch.randperm(self.num_samples, generator=self.generator)
        usable = self.num_samples - self.num_samples % self.world_size
        perm = perm[:usable]
        flip = self._flip_flags(usable) if self.flip else torch.zeros(usable, dtype=torch.bool)
        return EpochPlan(
            index=perm[self.rank :: self.world_size],
            flip=flip[self.rank :: self.world_size],
            batch_size=self.batch_size // self.world_size,
        )

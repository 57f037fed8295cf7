"""GAST-Net test models with non-trivial weights: the one randomizer the GAST-Net tests share."""

from __future__ import annotations

import torch

from gastbench.models.gastnet import GASTNet


def randomize_gastnet(model: GASTNet, seed: int = 0) -> GASTNet:
    """Non-trivial graph logits, C_k and BN statistics, so that folding is really exercised; eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith((".e", ".C_k")):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(1 + torch.rand(m.running_var.shape, generator=gen))
    return model.eval()

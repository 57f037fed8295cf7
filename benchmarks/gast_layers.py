"""Time gast-t27 whole-sequence inference: gastbench's fused path vs a naive per-call reference computation.

The naive path is written anew here from the reference's published computation
(fabro66/GAST-Net-3DPoseEstimation ``model/*.py``): layout ``(B, C, T, J)``, masks and
softmaxed adjacencies rebuilt on every call, channel-wise graph conv as ``(C, J, J)``
times ``(B, T, C, J, 1)`` batched products, global attention over the expanded
``[theta_i, phi_j]`` concatenation. It reads the parameters of a gastbench model, so
both paths share one state dict and their outputs must agree.

    python benchmarks/gast_layers.py --frames 1000 --repeats 3
"""

from __future__ import annotations

import argparse
import ctypes
import os
import time

import torch
import torch.nn.functional as F

from gastbench.models.gastnet import GASTNet, GraphAttentionBlock
from gastbench.registry import create_lifter

__all__ = ["naive_forward", "calibrate", "main"]


def _bn(x: torch.Tensor, bn: torch.nn.BatchNorm2d) -> torch.Tensor:
    return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)


def _naive_semch(x: torch.Tensor, conv) -> torch.Tensor:
    """Channel-wise graph conv the way the reference runs it: rebuild mask, logits and identity each call."""
    c = conv.out_features
    adj_mask = conv.mask.unsqueeze(0).repeat(c, 1, 1)
    h0 = torch.matmul(x, conv.W[0]).unsqueeze(2).transpose(2, 4)  # (B, T, C, J, 1)
    h1 = torch.matmul(x, conv.W[1]).unsqueeze(2).transpose(2, 4)
    adj = -9e15 * torch.ones(adj_mask.shape, dtype=x.dtype)
    adj[adj_mask] = conv.e.reshape(-1)
    adj = F.softmax(adj, dim=2)
    eye = torch.eye(adj.shape[1], dtype=x.dtype).unsqueeze(0).repeat(c, 1, 1)
    out = torch.matmul(adj * eye, h0) + torch.matmul(adj * (1 - eye), h1)
    return out.transpose(2, 4).squeeze(2)


def _naive_local(x: torch.Tensor, layer) -> torch.Tensor:
    a = F.relu(_bn(_naive_semch(x, layer.gcn_sym).permute(0, 3, 1, 2), layer.bn_1))
    b = F.relu(_bn(_naive_semch(x, layer.gcn_con).permute(0, 3, 1, 2), layer.bn_2))
    out = F.relu(_bn(F.conv2d(torch.cat((a, b), dim=1), layer.cat_conv.weight), layer.cat_bn))
    return out.permute(0, 2, 3, 1)


def _naive_head(x: torch.Tensor, head) -> torch.Tensor:
    """One global-attention head on ``(B*T, C, J)``, with the explicit ``(B*T, 2C', J, J)`` concatenation."""
    n, _, j = x.shape
    g = F.conv1d(x, head.g.weight, head.g.bias).permute(0, 2, 1)
    theta = F.conv1d(x, head.theta.weight, head.theta.bias).view(n, head.inter_channels, j, 1).expand(-1, -1, -1, j)
    phi = F.conv1d(x, head.phi.weight, head.phi.bias).view(n, head.inter_channels, 1, j).expand(-1, -1, j, -1)
    f = F.conv2d(torch.cat([theta, phi], dim=1), head.concat_project[0].weight)
    attention = F.softmax(F.leaky_relu(f.view(n, j, j), 0.2), dim=-1) + head.C_k
    return torch.matmul(attention, g).permute(0, 2, 1).contiguous()


def _naive_global(x: torch.Tensor, layer) -> torch.Tensor:
    shape = x.shape
    flat = x.contiguous().view(-1, *shape[2:]).permute(0, 2, 1)
    y = torch.cat([_naive_head(flat, h) for h in layer.attentions], dim=1)
    y = y.permute(0, 2, 1).contiguous().view(*shape).permute(0, 3, 1, 2)
    y = F.relu(_bn(F.conv2d(y, layer.cat_conv.weight), layer.cat_bn))
    return y.permute(0, 2, 3, 1)


def _naive_block(x: torch.Tensor, block: GraphAttentionBlock) -> torch.Tensor:
    x = x.permute(0, 2, 3, 1)
    y = torch.cat((x, _naive_local(x, block.local_graph_layer), _naive_global(x, block.global_graph_layer)), dim=-1)
    return F.relu(_bn(F.conv2d(y.permute(0, 3, 1, 2), block.cat_conv.weight), block.cat_bn))


def naive_forward(model: GASTNet, x: torch.Tensor) -> torch.Tensor:
    """Reference-style dilated eval forward ``(B, T, J, 2) -> (B, T - RF + 1, J, 3)`` over ``model``'s parameters."""
    h = _bn(x.permute(0, 3, 1, 2), model.init_bn)
    h = F.relu(_bn(F.conv2d(h, model.expand_conv.weight), model.expand_bn))
    h = _naive_block(h, model.layers_graph_conv[0])
    dilation = model.filter_widths[0]
    for i, fw in enumerate(model.filter_widths[1:], start=1):
        pad = (fw - 1) * dilation // 2
        shift = fw // 2 * dilation if model.causal else 0
        res = h[:, :, pad + shift : h.shape[2] - pad + shift]
        h = F.conv2d(h, model.layers_conv[2 * i - 2].weight, dilation=(dilation, 1))
        h = F.relu(_bn(h, model.layers_bn[2 * i - 2]))
        h = res + F.relu(_bn(F.conv2d(h, model.layers_conv[2 * i - 1].weight), model.layers_bn[2 * i - 1]))
        h = _naive_block(h, model.layers_graph_conv[i])
        dilation *= fw
    return F.conv2d(h, model.shrink.weight).permute(0, 2, 3, 1)


def calibrate(model: GASTNet, x: torch.Tensor, seed: int = 0) -> None:
    """Give every learnable graph weight and BN statistic non-trivial values, like a trained model.

    Random ``e``, ``C_k`` and BN affines; running statistics measured on ``x`` (cumulative
    average), so activations stay O(1) as in a trained network.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith((".e", ".C_k")):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
                m.reset_running_stats()
                m.momentum = None
        model.train()
        model(x)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = 0.1
    model.eval()


def _time(fn, repeats: int) -> tuple[float, float, torch.Tensor]:
    """Mean wall seconds and mean process CPU seconds (user + sys) per call, after one warm-up call.

    CPU time is reported because the machine is shared: under load the wall time of a
    2-thread GEMM-bound run inflates much more than its CPU time.
    """
    out = fn()  # warm-up (also builds the eval cache once)
    cpu0, start = os.times(), time.perf_counter()
    for _ in range(repeats):
        out = fn()
    cpu1, wall = os.times(), time.perf_counter() - start
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return wall / repeats, cpu / repeats, out


def _tune_malloc() -> None:
    """Keep freed large blocks in glibc's heap so every call does not page-fault fresh memory."""
    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 1 << 30)
    libc.mallopt(m_trim_threshold, 1 << 30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gast-t27")
    parser.add_argument("--frames", type=int, default=1000, help="output frames of the one sequence")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tune-malloc", action="store_true", help="raise glibc's mmap/trim thresholds first")
    args = parser.parse_args()
    if args.tune_malloc:
        _tune_malloc()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_lifter(args.model)
    calibrate(model, torch.randn(4, model.receptive_field + 30, model.input_layout.num_joints, 2))
    seq = torch.randn(1, args.frames + model.receptive_field - 1, model.input_layout.num_joints, 2)
    flipped = seq[..., list(model.input_layout.flip_permutation), :].clone()
    flipped[..., 0] *= -1
    batch = torch.cat((seq, flipped))  # the flip-augmented pair, one sequence at a time

    load_before = os.getloadavg()[0]
    with torch.no_grad():
        t_fast, c_fast, y_fast = _time(lambda: model(batch, mode="dilated"), args.repeats)
        t_naive, c_naive, y_naive = _time(lambda: naive_forward(model, batch), args.naive_repeats)
    diff = (y_fast - y_naive).abs().max().item()
    print(f"model {args.model}, input {tuple(batch.shape)}, threads {args.threads}, malloc tuned {args.tune_malloc}")
    print(f"1-min load average before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f} (on {os.cpu_count()} CPUs)")
    print(f"output max |y| = {y_naive.abs().max().item():.3f}, max |diff| = {diff:.2e}")
    print(f"naive reference : {t_naive:7.3f} s wall {args.frames / t_naive:8.1f} frames/s | {c_naive:7.3f} s CPU")
    print(f"gastbench       : {t_fast:7.3f} s wall {args.frames / t_fast:8.1f} frames/s | {c_fast:7.3f} s CPU")
    print(f"speed-up        : {t_naive / t_fast:.2f}x wall, {c_naive / c_fast:.2f}x CPU time")
    if diff >= 1e-5:
        raise SystemExit(f"outputs differ: max |diff| {diff:.2e} >= 1e-5")


if __name__ == "__main__":
    main()

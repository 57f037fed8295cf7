"""GAST-Net whole-sequence inference, gastbench vs the authors' model code (or the reference computation).

One Human3.6M-length sequence (2,356 frames by default) and its flipped copy, one forward
per side, the way the authors evaluate. Both sides hold identical weights (non-trivial
graph logits, ``C_k`` and BN statistics, see :func:`calibrate`) and must agree to 1e-5.

The other side is, with ``--reference-repo PATH`` (a checkout of
fabro66/GAST-Net-3DPoseEstimation), the authors' own ``model.gast_net.SpatioTemporalModel``,
imported from PATH at run time and given gastbench's state dict (its keys are the
reference's). Without it, the other side is :func:`naive_forward` below: the reference's
published computation written anew (layout ``(B, C, T, J)``, masks and softmaxed
adjacencies rebuilt on every call, channel-wise graph conv as ``(C, J, J)`` by
``(B, T, C, J, 1)`` batched products, global attention over the expanded
``[theta_i, phi_j]`` concatenation), run over the gastbench model's own parameters.

Also timed, as the yardstick of this machine's GEMM rate: videopose3d-t243 on the same
pair. Every model's FLOP rate is printed (plain-path FLOPs, ``torch.utils.flop_counter``).

    python benchmarks/gast_layers.py --reference-repo /path/to/GAST-Net-3DPoseEstimation
    python benchmarks/gast_layers.py --model gast-t81 --frames 1000
"""

from __future__ import annotations

import argparse
import importlib
import sys
import types
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import alternate, flops_per_frame, machine_line  # noqa: E402

from gastbench.models._blas import blas_name, bundled_openblas, bundled_openblas_found, openblas_available, torch_blas  # noqa: E402
from gastbench.models.gastnet import GASTNet, GraphAttentionBlock  # noqa: E402
from gastbench.registry import create_lifter  # noqa: E402

__all__ = ["naive_forward", "calibrate", "reference_model", "main"]


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


def reference_model(repo: Path, model: GASTNet) -> torch.nn.Module:
    """The authors' ``SpatioTemporalModel`` imported from ``repo``, holding ``model``'s weights (eval mode)."""
    if not (repo / "model" / "gast_net.py").is_file():
        raise SystemExit(
            f"--reference-repo {repo}: no model/gast_net.py there (expected a GAST-Net-3DPoseEstimation checkout)"
        )
    # the reference imports torchsummary at module level for a summary it never prints here
    sys.modules.setdefault("torchsummary", types.SimpleNamespace(summary=None))  # type: ignore[arg-type]
    sys.path.insert(0, str(repo))
    gast_net = importlib.import_module("model.gast_net")
    layout = model.input_layout
    # the reference's adjacency input: row-normalised bones + self-loops (only its support is used)
    adj = torch.as_tensor(layout.adjacency(), dtype=torch.float32) + torch.eye(layout.num_joints)
    adj = adj / adj.sum(1, keepdim=True)
    ref = gast_net.SpatioTemporalModel(
        adj, layout.num_joints, 2, layout.num_joints, list(model.filter_widths),
        causal=model.causal, dropout=model.dropout_p, channels=model.channels,
    )  # fmt: skip
    ref.load_state_dict(model.state_dict(), strict=True)
    return ref.eval()


def _pair(model: GASTNet, frames: int, seed: int = 0) -> torch.Tensor:
    """A sequence (random, O(1) like normalised 2D keypoints) and its flipped copy, ``(2, frames + RF - 1, J, 2)``."""
    layout = model.input_layout
    seq = torch.randn(
        1, frames + model.receptive_field - 1, layout.num_joints, 2, generator=torch.Generator().manual_seed(seed)
    )
    flipped = seq[..., list(layout.flip_permutation), :].clone()
    flipped[..., 0] *= -1
    return torch.cat((seq, flipped))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gast-t27")
    parser.add_argument("--frames", type=int, default=2356, help="output frames of the one sequence")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per side (best counts)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reference-repo", type=Path, default=None, help="a GAST-Net-3DPoseEstimation checkout")
    parser.add_argument("--yardstick", default="videopose3d-t243", help="'' to skip")
    parser.add_argument("--blas", choices=("auto", "both"), default="both",
                        help="both: also time gastbench with the BLAS this CPU does not default to (OpenBLAS or torch's)")  # fmt: skip
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_lifter(args.model)
    calibrate(model, torch.randn(4, model.receptive_field + 30, model.input_layout.num_joints, 2))
    batch = _pair(model, args.frames)
    if args.reference_repo is not None:
        ref = reference_model(args.reference_repo.resolve(), model)
        other, other_name = (lambda: ref(batch)), "authors' SpatioTemporalModel"
    else:
        other, other_name = (lambda: naive_forward(model, batch)), "reference computation (naive_forward)"
    sides = {"gastbench": lambda: model(batch, mode="dilated"), other_name: other}
    # the BLAS this CPU does not default to, beside the default (only where numpy bundles an OpenBLAS)
    switch, switched = (
        (torch_blas, "gastbench, torch BLAS") if openblas_available() else (bundled_openblas, "gastbench, OpenBLAS")
    )
    if args.blas == "both" and bundled_openblas_found():

        def with_other_blas() -> torch.Tensor:
            with switch():
                return model(batch, mode="dilated")

        sides[switched] = with_other_blas
    if args.yardstick:
        yard = create_lifter(args.yardstick).eval()
        yard_batch = _pair(yard, args.frames)
        sides[args.yardstick] = lambda: yard(yard_batch, mode="dilated")
    flops = {"gastbench": flops_per_frame(model)}
    flops[other_name] = flops["gastbench"]
    flops[switched] = flops["gastbench"]
    if args.yardstick:
        flops[args.yardstick] = flops_per_frame(yard)

    print(f"{args.model}: one {args.frames}-frame sequence + its flipped copy, input {tuple(batch.shape)}")
    print(f"{machine_line()}; gastbench's fused GEMMs: {blas_name()}")
    with torch.no_grad():
        timings, outputs = alternate(sides, args.repeats)
    diff = (outputs["gastbench"] - outputs[other_name]).abs().max().item()
    print(f"max |gastbench - other| = {diff:.2e} (max |y| = {outputs[other_name].abs().max().item():.3f})")
    print(
        f"{'side':>38} | {'frames/s':>8} | {'best s':>7} | {'spread':>6} | {'CPU s':>7} | {'MFLOP/frame':>11} | GFLOP/s"
    )
    rates = {}
    for name, t in timings.items():
        rates[name] = 2 * args.frames * flops[name] / t.best_s / 1e9  # x2: the flipped copy
        print(f"{name:>38} | {args.frames / t.best_s:8.1f} | {t.best_s:7.3f} | {t.spread:6.1%} | {t.cpu_s:7.3f} | "
              f"{flops[name] / 1e6:11.1f} | {rates[name]:7.1f}")  # fmt: skip
    print(f"speed-up vs {other_name}: {timings[other_name].best_s / timings['gastbench'].best_s:.2f}x")
    if switched in timings:
        side = timings[switched].best_s
        diff_switched = (outputs[switched] - outputs[other_name]).abs().max().item()
        openblas_s, torch_s = (
            (timings["gastbench"].best_s, side) if openblas_available() else (side, timings["gastbench"].best_s)
        )
        print(f"{switched.removeprefix('gastbench, ')}: {timings[other_name].best_s / side:.2f}x "
              f"(max |diff| {diff_switched:.2e}); OpenBLAS vs torch's BLAS: {torch_s / openblas_s:.2f}x")  # fmt: skip
    if args.yardstick:
        print(
            f"gastbench {args.model} FLOP rate / {args.yardstick}'s: {rates['gastbench'] / rates[args.yardstick]:.0%}"
        )
    if diff >= 1e-5:
        raise SystemExit(f"outputs differ: max |diff| {diff:.2e} >= 1e-5")


if __name__ == "__main__":
    main()

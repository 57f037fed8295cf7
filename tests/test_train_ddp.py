"""DistributedDataParallel: two CPU processes (gloo) under torchrun train a few steps and agree."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

WORKER = textwrap.dedent(
    """
    import json, os, sys
    import torch
    from safetensors.torch import save_file
    from gastbench.training import resolve_config, train

    out = sys.argv[1]
    rank = int(os.environ["RANK"])
    config = resolve_config(
        "videopose3d-t27", "synthetic", "gt", epochs=1, batch_size=64, train_subjects=["S1"],
        actions=["Directions"], model_overrides={"channels": 32}, validate_every=0, num_threads=1,
        device="cpu", runs_dir=out, run_name="ddp",
    )
    result = train(config, progress=False, final_eval=False, write_card=False)
    state = {k: v.detach().contiguous() for k, v in result.lifter.named_parameters()}
    save_file(state, os.path.join(out, f"params_rank{rank}.safetensors"))
    with open(os.path.join(out, f"history_rank{rank}.json"), "w") as fh:
        json.dump(result.history, fh)
    """
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_two_gloo_processes_train_and_end_with_identical_parameters(tmp_path: Path) -> None:
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("this torch build has no gloo backend")
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    env = {
        **os.environ,
        "MASTER_ADDR": "127.0.0.1",
        "GLOO_SOCKET_IFNAME": "lo",
        "OMP_NUM_THREADS": "1",
    }
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
        "--master-port", str(_free_port()), str(script), str(tmp_path),
    ]  # fmt: skip
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    rank0 = load_file(str(tmp_path / "params_rank0.safetensors"))
    rank1 = load_file(str(tmp_path / "params_rank1.safetensors"))
    assert set(rank0) == set(rank1) and rank0
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), f"ranks disagree on {key}"
    # Rank 0 saved exactly these parameters.
    saved = load_file(str(tmp_path / "ddp" / "weights.safetensors"))
    assert all(torch.equal(saved[k], rank0[k]) for k in rank0)
    history = [json.loads((tmp_path / f"history_rank{r}.json").read_text()) for r in (0, 1)]
    assert history[0][0]["samples"] == 888 and history[0][0]["steps"] == 14  # each rank: 444 windows, 32 a step
    assert (tmp_path / "ddp" / "checkpoint.pt").is_file()

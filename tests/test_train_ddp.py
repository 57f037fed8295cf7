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
    import torch.distributed as dist
    from safetensors.torch import save_file
    from gastbench.training import resolve_config, train

    # The worker owns the process group, so several runs share one launch: train() reuses a group it
    # finds (re-initialising gloo in the same processes fails).
    dist.init_process_group("gloo")
    out, rank = sys.argv[1], int(os.environ["RANK"])
    for spec in sys.argv[2:]:  # name:epochs:stop_after:fresh|resume
        name, epochs, stop_after, mode = spec.split(":")
        config = resolve_config(
            "videopose3d-t27", "synthetic", "gt", epochs=int(epochs), batch_size=64, train_subjects=["S1"],
            actions=["Directions"], model_overrides={"channels": 32, "dropout": 0.5}, validate_every=0,
            num_threads=1, device="cpu", runs_dir=out, run_name=name,
        )
        result = train(config, progress=False, final_eval=False, write_card=False, resume=mode == "resume",
                       on_epoch_end=(lambda epoch, n=int(stop_after): epoch >= n) if int(stop_after) else None)
        state = {k: v.detach().contiguous() for k, v in result.lifter.named_parameters()}
        save_file(state, os.path.join(out, f"{name}_params_rank{rank}.safetensors"))
        with open(os.path.join(out, f"{name}_history_rank{rank}.json"), "w") as fh:
            json.dump(result.history, fh)
    dist.destroy_process_group()
    """
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _torchrun(tmp_path: Path, *args: str) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    scratch = tmp_path / "tmp"  # torchrun's own log folders (torchelastic_*) stay under pytest's tmp_path
    scratch.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "MASTER_ADDR": "127.0.0.1",
        "GLOO_SOCKET_IFNAME": "lo",
        "OMP_NUM_THREADS": "1",
        "TMPDIR": str(scratch),
    }
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
        "--master-port", str(_free_port()), str(script), str(tmp_path), *args,
    ]  # fmt: skip
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def _params(tmp_path: Path, name: str, rank: int) -> dict[str, torch.Tensor]:
    return load_file(str(tmp_path / f"{name}_params_rank{rank}.safetensors"))


@pytest.fixture(scope="module")
def first_launch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One launch: an uninterrupted 2-epoch run, then a run stopped after epoch 1 as if killed."""
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("this torch build has no gloo backend")
    out = tmp_path_factory.mktemp("ddp")
    _torchrun(out, "straight:2:0:fresh", "killed:2:1:fresh")
    return out


@pytest.mark.slow
def test_two_gloo_processes_train_and_end_with_identical_parameters(first_launch: Path) -> None:
    rank0, rank1 = _params(first_launch, "straight", 0), _params(first_launch, "straight", 1)
    assert set(rank0) == set(rank1) and rank0
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), f"ranks disagree on {key}"
    # Rank 0 saved exactly these parameters.
    saved = load_file(str(first_launch / "straight" / "weights.safetensors"))
    assert all(torch.equal(saved[k], rank0[k]) for k in rank0)
    history = json.loads((first_launch / "straight_history_rank0.json").read_text())
    assert history[0]["samples"] == 888 and history[0]["steps"] == 14  # each rank: 444 windows, 32 a step
    assert len(history) == 2 and (first_launch / "straight" / "checkpoint.pt").is_file()


@pytest.mark.slow
def test_distributed_resume_is_bitwise_equal_to_an_uninterrupted_run(first_launch: Path) -> None:
    checkpoint = torch.load(first_launch / "killed" / "checkpoint.pt", weights_only=True)
    assert checkpoint["epoch"] == 1 and len(checkpoint["rng_per_rank"]) == 2
    # Each rank has its own dropout stream, and each is checkpointed.
    assert not torch.equal(checkpoint["rng_per_rank"][0]["torch"], checkpoint["rng_per_rank"][1]["torch"])
    assert not (first_launch / "killed" / "weights.safetensors").exists()  # killed runs write no weights
    _torchrun(first_launch, "killed:2:0:resume")  # fresh processes, as after a real kill
    for rank in (0, 1):
        a, b = _params(first_launch, "straight", rank), _params(first_launch, "killed", rank)
        assert all(torch.equal(a[k], b[k]) for k in a), f"rank {rank}: resumed run differs"

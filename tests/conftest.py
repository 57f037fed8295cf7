"""Shared fixtures: a quiet, deterministic, offline test session."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach beyond loopback: tests never download."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1")):
            return real_connect(self, address)
        if self.family == getattr(socket, "AF_UNIX", None):
            return real_connect(self, address)
        raise RuntimeError(f"test tried to open a network connection to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real datasets (CI: ../shared/data through GASTBENCH_DATA); skips when absent."""
    value = os.environ.get("GASTBENCH_DATA")
    if not value:
        pytest.skip("GASTBENCH_DATA is not set: real-data integration tests need the dataset folder")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"GASTBENCH_DATA={value} is not a directory")
    return path

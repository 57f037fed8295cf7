"""Which code produced a result: the git commit of the checkout gastbench runs from.

A committed result record must say the revision that computed it, so that a later change that
moves its numbers can be traced (the test suite re-computes committed records from their weights).
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

__all__ = ["code_revision"]


@functools.lru_cache(maxsize=1)
def code_revision() -> str:
    """``<40-hex commit>`` of the source checkout, ``+dirty`` when tracked files under ``gastbench/`` or
    ``baselines/`` differ from it, or ``""`` when gastbench does not run from a git checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "gastbench", "baselines"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ""  # an installed wheel, or no git: the package version alone identifies the code
    return commit + ("+dirty" if status else "")

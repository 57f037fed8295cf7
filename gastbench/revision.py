"""Which code produced a result: the git commit of the gastbench checkout, or of the build.

A committed result record must say the revision that computed it, so that a later change that
moves its numbers can be traced (the test suite re-computes committed records from their weights).
The checkout's commit is used only when the package *is* that checkout (an editable install or a
source tree): an installed wheel inside some other git repository must not report that
repository's commit. A wheel built from a checkout carries its commit in ``_build_commit.txt``
(written by ``.ci/run`` before building); otherwise the record's ``gastbench_version`` alone
identifies the code.
"""

from __future__ import annotations

import functools
import re
import subprocess
from importlib import resources
from pathlib import Path

__all__ = ["code_revision"]

_COMMIT = re.compile(r"[0-9a-f]{40}")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()


def _checkout_revision(root: Path) -> str:
    """The commit of ``root`` when it is gastbench's own source tree and a git toplevel, else ``""``."""
    project = root / "pyproject.toml"
    if not project.is_file() or 'name = "gastbench"' not in project.read_text(encoding="utf-8", errors="replace"):
        return ""
    try:
        if Path(_git(root, "rev-parse", "--show-toplevel")).resolve() != root.resolve():
            return ""
        commit = _git(root, "rev-parse", "HEAD")
        status = _git(root, "status", "--porcelain", "--untracked-files=no", "--", "gastbench", "baselines")
    except (OSError, subprocess.SubprocessError):
        return ""
    return commit + ("+dirty" if status else "")


def _build_revision() -> str:
    try:
        text = resources.files("gastbench").joinpath("_build_commit.txt").read_text(encoding="utf-8").strip()
    except (OSError, FileNotFoundError):
        return ""
    return text if _COMMIT.fullmatch(text) else ""


@functools.lru_cache(maxsize=1)
def code_revision() -> str:
    """``<40-hex commit>`` (``+dirty`` when tracked files under ``gastbench/`` or ``baselines/`` differ from
    it) of the checkout gastbench runs from, else the commit a wheel was built from, else ``""``."""
    return _checkout_revision(Path(__file__).resolve().parent.parent) or _build_revision()

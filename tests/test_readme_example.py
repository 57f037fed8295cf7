"""The README's Python example runs as printed, and every name it uses comes from ``gastbench``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_readme_python_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = _python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) == 1, "the README shows one Python example; this test runs it"
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], str(README), "exec"), {"__name__": "readme_example"})
    table = capsys.readouterr().out
    assert "gast-t27 (gt) [untrained] [synthetic data]" in table
    header = [line for line in table.splitlines() if "Method" in line][0]
    assert "Avg" in header and "RF" in header
    records = list((tmp_path / "runs").glob("gast-t27_synthetic-gt_*.json"))
    assert len(records) == 1


def test_the_api_names_are_importable_from_gastbench_without_loading_torch_first() -> None:
    import subprocess
    import sys

    code = (
        "import sys, gastbench; assert 'torch' not in sys.modules, 'import gastbench loaded torch'; "
        "names = ['load_dataset', 'create_lifter', 'resolve_lifter', 'load_pretrained', 'find_card', 'evaluate', "
        "'EvalOptions', 'render_results', 'save_result', 'load_result', 'register_lifter', 'register_recipe', 'Lifter']; "
        "missing = [n for n in names if not callable(getattr(gastbench, n))]; assert not missing, missing; "
        "assert set(names) <= set(gastbench.__all__)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

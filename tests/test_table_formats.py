"""Every table format shows one column set, and LaTeX output is valid booktabs that pdflatex compiles."""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from gastbench.leaderboard import DIFF_COLUMN
from gastbench.tables import latex_escape, render


def _frame() -> pd.DataFrame:
    """A leaderboard-like frame with an all-empty column, a symbol header and escapable method names."""
    return pd.DataFrame(
        {
            "Method": ["my_net (sh_ft_h36m) [reported]", "gast-t27 (gt) 50% & more #1"],
            "Walk S1": [13.7, 22.8],
            "Jog S1": [math.nan, math.nan],
            "Avg": [21.2, 27.04],
            "Params (M)": [math.nan, 6.9123],
            "RF": [27, 27],
            DIFF_COLUMN: [math.nan, 5.8],
        }
    ).set_index("Method")


def _latex_rows(text: str) -> list[list[str]]:
    body = [line for line in text.splitlines() if line.endswith("\\\\")]
    return [[c.strip() for c in line[:-2].split(" & ")] for line in body]


def test_every_format_keeps_the_same_columns() -> None:
    frame = _frame()
    expected = ["Method", *frame.columns]
    csv_header = pd.read_csv(io.StringIO(render(frame, "csv"))).columns.tolist()
    md_header = [c.strip() for c in render(frame, "markdown").splitlines()[0].strip("|").split("|")]
    md_header[0] = md_header[0] or "Method"
    json_rows = json.loads(render(frame, "json"))["rows"]
    latex_header = _latex_rows(render(frame, "latex"))[0]
    assert csv_header == expected
    assert md_header == expected
    assert list(json_rows[0]) == ["method", *frame.columns]
    assert latex_header == ["Method", *(latex_escape(c) for c in frame.columns)]


def test_latex_is_booktabs_with_right_aligned_numbers_and_escaped_symbols() -> None:
    text = render(_frame(), "latex", title="Protocol #1 — Δ vs paper")
    lines = text.splitlines()
    spec = next(line for line in lines if line.startswith("\\begin{tabular}"))
    columns = spec[len("\\begin{tabular}{") : -1]
    assert columns == "l" + "r" * 6
    assert [line for line in lines if line.startswith("\\") and "rule" in line] == [
        "\\toprule",
        "\\midrule",
        "\\bottomrule",
    ]
    table = "\n".join(line for line in lines if not line.startswith("%"))
    assert "Δ" not in table and "$\\Delta$ vs paper" in table
    assert "my\\_net (sh\\_ft\\_h36m) [reported]" in table and "50\\% \\& more \\#1" in table
    assert table.count("{") == table.count("}")
    rows = _latex_rows(text)
    assert all(len(row) == len(columns) for row in rows)  # unescaped & would add a cell
    assert rows[2][1:] == ["22.8", "-", "27.0", "6.91", "27", "5.8"]


@pytest.mark.skipif(
    shutil.which("pdflatex") is None, reason="no pdflatex installed; the structural test above checks the LaTeX"
)
def test_latex_compiles_with_pdflatex(tmp_path: Path) -> None:
    doc = (
        "\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n"
        + render(_frame(), "latex")
        + "\n\\end{document}\n"
    )
    (tmp_path / "t.tex").write_text(doc, encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]

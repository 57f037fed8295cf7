"""Evaluation memory: peak RSS of a small and a whole-test-set evaluation of each model, every family by default.

Each run is its own process (``gastbench eval``), measured with ``wait4``'s resource usage;
a first process only loads the dataset and builds its test sequences, the fixed cost every
evaluation shares. The evaluation streams one sequence at a time, so the two peaks of a model
should differ by little more than the data they load (Human3.6M's loader builds every test
subject either way). Models: videopose3d-t243 and one per registered architecture (plugins
included), as ``family_throughput.py`` picks them; ``--markdown`` prints the README's table.

    GASTBENCH_DATA=/work/shared/data python benchmarks/eval_memory.py --markdown      # every family, h36m gt
    python benchmarks/eval_memory.py --models gast-t27 --small 10 --large 80        # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line  # noqa: E402
from _families import Row, commit_label, default_models, missing_requirements, print_table  # noqa: E402

_RUN = "from gastbench.cli import main; main()"
_LOAD_ONLY = (
    "import sys; from gastbench.data import load_dataset; "
    "ds = load_dataset(sys.argv[1], sys.argv[2], sys.argv[3] or None); ds.sequences('test')"
)


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """Run ``python <args>`` to completion; its peak resident set in MB and its wall time in s."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])} ... failed ({proc.returncode}):\n{stderr[-2000:]}")
    scale = 1024 if sys.platform != "darwin" else 1  # Linux reports KiB, macOS bytes
    return usage.ru_maxrss * scale / 1e6, time.perf_counter() - started


def evaluation(
    model: str, dataset: str, input: str, data_dir: str, max_sequences: int | None, runs: Path
) -> tuple[float, float, int]:
    """Peak RSS (MB), wall time (s) and frames evaluated of one ``gastbench eval`` run."""
    out = runs / f"n{max_sequences or 'all'}"
    args = ["-c", _RUN, "eval", model, "--dataset", dataset, "--input", input, "--random-init", "--device", "cpu",
            "--no-progress", "--format", "csv", "--runs-dir", str(out)]  # fmt: skip
    if data_dir:
        args += ["--data-dir", data_dir]
    if max_sequences is not None:
        args += ["--max-sequences", str(max_sequences)]
    rss, wall = peak_rss_mb(args)
    record = json.loads(next(out.rglob("*.json")).read_text())
    return rss, wall, int(record["frames_evaluated"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", default=None, help="default: videopose3d-t243 and one model per architecture"
    )
    parser.add_argument("--dataset", default="h36m")
    parser.add_argument("--input", default="gt")
    parser.add_argument("--data-dir", default="", help="else $GASTBENCH_DATA")
    parser.add_argument("--small", type=int, default=10, help="sequences of the small run")
    parser.add_argument(
        "--large", type=int, default=None, help="sequences of the large run (default: the whole test set)"
    )
    parser.add_argument("--markdown", action="store_true", help="print the README's table (with commit and command)")
    args = parser.parse_args()
    command = "python benchmarks/eval_memory.py " + shlex.join(sys.argv[1:])
    models = args.models or default_models()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        base, base_s = peak_rss_mb(["-c", _LOAD_ONLY, args.dataset, args.input, args.data_dir])
        print(f"load {args.dataset} {args.input} test split only: peak RSS {base:8.0f} MB ({base_s:.0f} s)", flush=True)
        for model in models:
            if missing_requirements(model):
                rows.append(Row((model, f"skipped: needs {', '.join(missing_requirements(model))}", "", "", "")))
                continue
            peaks = []
            for n in (args.small, args.large):
                rss, wall, frames = evaluation(model, args.dataset, args.input, args.data_dir, n, runs / model)
                label = f"--max-sequences {n}" if n else "whole test set"
                print(f"{model} {label:>19}: {frames:8d} frames, peak RSS {rss:8.0f} MB ({wall:.0f} s)", flush=True)
                peaks.append((rss, frames))
            (small, small_frames), (whole, whole_frames) = peaks
            extra = whole_frames - small_frames
            rows.append(Row((model, f"{small:,.0f} MB ({small_frames:,} frames)", f"{whole:,.0f} MB ({whole_frames:,} frames)",
                             f"{whole - small:+,.0f} MB", f"{(whole - small) * 1e6 / max(extra, 1):,.0f}")))  # fmt: skip
    heading = f"\ncommit `{commit_label()}`, {args.dataset} {args.input}, random weights; load-only peak {base:,.0f} MB; {machine_line()}"
    header = ["model", f"peak RSS, {args.small} sequences", "peak RSS, " + (f"{args.large} sequences" if args.large else "whole test set"),
              "difference", "B per extra frame"]  # fmt: skip
    print_table(heading, command, header, rows, args.markdown)


if __name__ == "__main__":
    main()

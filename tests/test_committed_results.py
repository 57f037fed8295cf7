"""Every committed result record in zoo/results is re-computed from its weights, cell by cell.

A record is committed with the code revision that produced it; this test fails as soon as the
code no longer reproduces it (P1/P2 per subject and action within 0.01 mm). The weights come
through the zoo card and ``GASTBENCH_WEIGHTS_DIR`` (CI: ../shared/weights), hash-verified; a
record whose weights are not in that folder is skipped, naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gastbench.cards import find_card
from gastbench.data import load_dataset
from gastbench.evaluation import EvalOptions, evaluate
from gastbench.pretrained import resolve_lifter
from gastbench.results import EvalResult, load_result

RESULTS = Path(__file__).resolve().parent.parent / "zoo" / "results"
RECORDS = sorted(RESULTS.glob("*.json"))
TOLERANCE_MM = 0.01


def test_committed_records_name_their_card_hash_and_code_revision() -> None:
    assert RECORDS, "zoo/results holds the committed records"
    for path in RECORDS:
        record = load_result(path)
        weights = record.weights or {}
        card = find_card(weights["card"], require_weights=False)
        assert weights["sha256"] == card.sha256, f"{path.name}: record and card {card.id} disagree on the weights"
        assert len(record.code_revision) >= 40 and not record.code_revision.endswith("+dirty"), (
            f"{path.name}: a committed record must say the clean commit that computed it"
        )
        assert not str(weights.get("path") or "").startswith("/"), f"{path.name} holds a machine's absolute path"


def _weights_dir() -> Path:
    value = os.environ.get("GASTBENCH_WEIGHTS_DIR", "")
    if not value or not Path(value).is_dir():
        pytest.skip("GASTBENCH_WEIGHTS_DIR is not a folder: committed records are re-computed from its weights")
    return Path(value)


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_committed_record_reproduces_from_its_weights(path: Path, real_data_dir: Path) -> None:
    record = load_result(path)
    card = find_card(record.weights["card"], require_weights=False)
    if not (_weights_dir() / card.filename).is_file():
        pytest.skip(f"{card.filename} is not in GASTBENCH_WEIGHTS_DIR; {path.name} cannot be re-computed here")
    lifter, info = resolve_lifter(card.lifter, dataset=record.dataset, input=record.input, layout=card.layout)
    assert info.sha256 == record.weights["sha256"]
    dataset = load_dataset(record.dataset, input=record.input, data_dir=real_data_dir)
    options = EvalOptions.for_weights(
        info, device="cpu", convention=record.protocol.convention, flip=record.protocol.flip
    )
    fresh = evaluate(lifter, dataset, options, weights=info, progress=False)
    _assert_same_cells(record, fresh, path.name)


def _assert_same_cells(committed: EvalResult, fresh: EvalResult, name: str) -> None:
    assert fresh.per_cell.keys() == committed.per_cell.keys(), f"{name}: subjects differ"
    for subject, actions in committed.per_cell.items():
        assert fresh.per_cell[subject].keys() == actions.keys(), f"{name}: actions of {subject} differ"
        for action, row in actions.items():
            for metric in ("mpjpe_mm", "p_mpjpe_mm"):
                want, got = row.get(metric), fresh.per_cell[subject][action].get(metric)
                assert got == pytest.approx(want, abs=TOLERANCE_MM), f"{name}: {subject}/{action} {metric}"

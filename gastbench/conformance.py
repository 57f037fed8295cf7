"""``gastbench check``: does a lifter keep the contract every benchmark number relies on?

Checks, each pass / fail / skip with a one-line detail:

- ``shape``: ``(B, T, J_in, 2) -> (B, T - RF + 1, J_out, 3)``, finite, on both graphs;
  the strided graph on one window equals the dilated graph on it;
- ``receptive_field``: output length is ``T - RF + 1`` for several T, and ``RF - 1`` frames are refused;
- ``params``: parameter count equals the zoo card's (exact when the card has weights; the
  paper's rounded millions otherwise);
- ``locality``: each output frame moves only with the input frames of its window (causal: past only);
- ``flip``: mirror permutations are involutions; trained weights are mirror-equivariant on a synthetic walking person;
- ``determinism``: two evaluations give bit-identical outputs;
- ``weights``: the weights (``--weights`` file, or the card's cached weights) load strictly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from .conformance_behaviour import check_flip_equivariance, check_locality
from .errors import GastbenchError, ShapeError
from .lifter import Lifter
from .model_id import parse_model_id
from .process_state import seeded
from .run_folder import WEIGHTS

__all__ = ["CheckResult", "run_checks", "run_model_checks"]

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str

    @property
    def ok(self) -> bool:
        return self.status != "fail"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _input(lifter: Lifter, frames: int, batch: int = 2, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, frames, lifter.input_layout.num_joints, 2, generator=gen) * 2 - 1


def _check_shape(lifter: Lifter) -> CheckResult:
    rf, j_out = lifter.receptive_field, lifter.output_layout.num_joints
    x = _input(lifter, rf + 4)
    y = lifter(x, mode="dilated")
    if tuple(y.shape) != (2, 5, j_out, 3):
        return CheckResult(
            "shape", "fail", f"dilated: input {tuple(x.shape)} gave {tuple(y.shape)}, expected (2, 5, {j_out}, 3)"
        )
    if not torch.isfinite(y).all():
        return CheckResult("shape", "fail", "dilated output has non-finite values")
    window = x[:, :rf]
    ys = lifter(window, mode="strided")
    if tuple(ys.shape) != (2, 1, j_out, 3):
        return CheckResult(
            "shape", "fail", f"strided: input {tuple(window.shape)} gave {tuple(ys.shape)}, expected (2, 1, {j_out}, 3)"
        )
    yd = lifter(window, mode="dilated")
    err = float((ys - yd).abs().max())
    if err > 1e-4:
        return CheckResult("shape", "fail", f"strided and dilated graphs differ on one window by {err:.2e}")
    return CheckResult(
        "shape", "pass",
        f"(B,T,{lifter.input_layout.num_joints},2) -> (B,T-{rf - 1},{j_out},3); strided = dilated (max diff {err:.1e})",
    )  # fmt: skip


def _check_receptive_field(lifter: Lifter) -> CheckResult:
    rf = lifter.receptive_field
    for frames in (rf, rf + 1, rf + 7):
        y = lifter(_input(lifter, frames), mode="dilated")
        if y.shape[1] != frames - rf + 1:
            return CheckResult(
                "receptive_field", "fail", f"T={frames}: {y.shape[1]} output frames, expected {frames - rf + 1}"
            )
    short = max(rf - 1, 0)
    try:
        lifter(_input(lifter, short) if short else torch.zeros(2, 0, lifter.input_layout.num_joints, 2))
    except ShapeError:
        return CheckResult("receptive_field", "pass", f"RF {rf}: T-RF+1 output frames; {short} frames refused")
    return CheckResult("receptive_field", "fail", f"an input of {short} frames (RF-1) was accepted, not refused")


def _check_params(lifter: Lifter, card: Any) -> CheckResult:
    n = lifter.num_parameters()
    if card is None:
        return CheckResult("params", "skip", f"{n:,} parameters; no zoo card to compare with")
    if card.params:
        if n != card.params:
            return CheckResult("params", "fail", f"{n:,} parameters, card {card.id} says {card.params:,}")
        return CheckResult("params", "pass", f"{n:,} parameters = card {card.id}")
    paper = card.reported.params_m if card.reported is not None else None
    if paper is None:
        return CheckResult("params", "skip", f"{n:,} parameters; card {card.id} has no count yet")
    if round(n / 1e6, 2) != round(paper, 2):
        return CheckResult("params", "fail", f"{n / 1e6:.2f}M parameters, the paper reports {paper}M (card {card.id})")
    return CheckResult("params", "pass", f"{n / 1e6:.2f}M parameters = paper's {paper}M (card {card.id})")


def _check_locality(lifter: Lifter) -> CheckResult:
    status, detail = check_locality(lifter)
    return CheckResult("locality", _status(status), detail)


def _check_flip(lifter: Lifter, trained: bool = False) -> CheckResult:
    status, detail = check_flip_equivariance(lifter, trained)
    return CheckResult("flip", _status(status), detail)


def _status(value: str) -> Status:
    if value not in ("pass", "fail", "skip"):
        raise ValueError(f"a check returned status {value!r}")
    return value  # type: ignore[return-value]  # narrowed by the test above


def _check_determinism(lifter: Lifter) -> CheckResult:
    x = _input(lifter, lifter.receptive_field + 3, seed=2)
    first, second = lifter(x, mode="dilated"), lifter(x, mode="dilated")
    if not torch.equal(first, second):
        return CheckResult(
            "determinism", "fail", f"two evaluations differ by {float((first - second).abs().max()):.2e}"
        )
    return CheckResult("determinism", "pass", "two evaluations are bit-identical")


def run_checks(
    name: str,
    layout: str | None = None,
    weights: str | Path | None = None,
    dataset: str | None = None,
    input: str | None = None,
    offline: bool = True,
) -> list[CheckResult]:
    """Build ``name`` and run every conformance check on it (eval mode, CPU, no gradients)."""
    from .checkpoint import load_safetensors_strict
    from .registry import create_lifter

    with seeded(0):  # the same random weights every time, the caller's generators untouched
        lifter = create_lifter(name, layout=layout)
    card = _pick_card(name, lifter, dataset, input)
    results: list[CheckResult] = []
    if weights is not None:
        try:
            load_safetensors_strict(lifter, weights)
            results.append(CheckResult("weights", "pass", f"{weights} loads strictly"))
        except GastbenchError as exc:
            results.append(CheckResult("weights", "fail", str(exc)))
    elif card is not None and card.status == "local":
        results.append(_check_local_weights(lifter, card))
    elif card is not None and card.has_weights:
        from .hub import fetch_weights

        try:
            load_safetensors_strict(lifter, fetch_weights(card, offline=offline))
            results.append(CheckResult("weights", "pass", f"card {card.id} weights verify and load strictly"))
        except GastbenchError as exc:
            results.append(CheckResult("weights", "fail", str(exc)))
    else:
        why = f"card {card.id} is {card.status}" if card is not None else "no --weights and no zoo card"
        results.append(CheckResult("weights", "skip", f"{why}; checks run on random weights"))
    trained = results[0].status == "pass"
    lifter.eval()
    with torch.inference_mode():
        results += run_model_checks(lifter, trained)
    results.insert(1, _check_params(lifter, card))
    return results


def run_model_checks(lifter: Lifter, trained: bool = False) -> list[CheckResult]:
    """The checks that only need the model (shape, receptive field, locality, flip, determinism).

    Anything a check raises is that check's ``fail`` row (a contributed model may raise anything,
    e.g. an IndexError from a wrong output joint count), never a traceback. A sequence-to-sequence
    lifter gets the clip checks instead (:mod:`gastbench.conformance_clips`).
    """
    if lifter.seq2seq:
        from .conformance_clips import run_clip_checks

        return [CheckResult(name, status, detail) for name, status, detail in run_clip_checks(lifter, trained)]  # type: ignore[arg-type]
    checks = (
        _check_shape,
        _check_receptive_field,
        _check_locality,
        lambda m: _check_flip(m, trained),
        _check_determinism,
    )
    names = ("shape", "receptive_field", "locality", "flip", "determinism")
    results: list[CheckResult] = []
    for name, check in zip(names, checks):
        try:
            results.append(check(lifter))
        except Exception as exc:  # noqa: BLE001 - every failure of a checked model is a row, see docstring
            detail = str(exc) if isinstance(exc, GastbenchError) else f"{type(exc).__name__}: {exc}"
            results.append(CheckResult(name, "fail", detail))
    return results


def _check_local_weights(lifter: Lifter, card: Any) -> CheckResult:
    """A ``local`` card's file is checked where it can be found; elsewhere it is not the model's fault."""
    from .checkpoint import load_safetensors_strict
    from .hub import WEIGHTS_DIR_ENV, mirror_candidates, verify_weights

    candidates = mirror_candidates(card)
    if card.path is not None:  # beside the card; a run folder's card sits beside weights.safetensors
        candidates += [card.path.parent / card.filename, card.path.parent / WEIGHTS]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        return CheckResult(
            "weights", "skip",
            f"card {card.id} is local (not on the Hub) and {card.filename} is neither beside the card nor in "
            f"${WEIGHTS_DIR_ENV}; pass --weights FILE to check it",
        )  # fmt: skip
    try:
        path = verify_weights(card, found)
        load_safetensors_strict(lifter, path)
    except GastbenchError as exc:
        return CheckResult("weights", "fail", str(exc))
    return CheckResult("weights", "pass", f"card {card.id} weights ({path}) verify and load strictly")


def _pick_card(name: str, lifter: Lifter, dataset: str | None, input: str | None) -> Any:
    """The card describing this exact model: same lifter and input layout; one with weights first."""
    from .cards import find_card, load_cards

    try:
        card = find_card(name, dataset=dataset, input=input, require_weights=False)
        return card if card.layout == lifter.input_layout.name else None
    except GastbenchError:
        pass
    base = parse_model_id(name).lifter
    try:
        same = [c for c in load_cards() if c.lifter == base and c.layout == lifter.input_layout.name]
    except GastbenchError:
        return None
    same.sort(key=lambda c: (not c.has_weights, c.params == 0, c.id))
    return same[0] if same else None

"""Finishing a run folder: the final epoch's weights, their evaluation, a zoo card, a summary.

``weights.safetensors`` holds the FINAL epoch's weights, never a "best" epoch picked on the
test split. The card is built from the trained lifter in memory, so a run with model
overrides (``--model-arg``) gets a card describing the model it actually trained.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..errors import GastbenchError
from ..lifter import Lifter
from ..outputs import write_text_file
from ..run_folder import SUMMARY, WEIGHTS, record_written
from .config import TrainConfig
from .result import TrainResult

if TYPE_CHECKING:
    from ..cards import Card
    from ..pretrained import WeightsInfo
    from ..results import EvalResult

__all__ = ["card_for_run", "finish_run", "state_dict_cpu"]


def state_dict_cpu(lifter: Lifter) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in lifter.state_dict().items()}


def recipe_changes(config: TrainConfig) -> dict[str, Any]:
    """The recipe settings this run changed from its named recipe (every setting when it names none)."""
    from ..recipes import recipe_settings

    settings = config.recipe_settings()
    if not config.recipe:
        return {k: v for k, v in settings.items() if v is not None}
    base = {**{k: getattr(TrainConfig(model=config.model), k) for k in settings}, **recipe_settings(config.recipe)}
    return {k: v for k, v in settings.items() if v != base[k]}


def _recipe_for_card(config: TrainConfig) -> dict[str, Any]:
    """A card's ``[recipe]``: the recipe's name and the settings the run changed."""
    return {**({"name": config.recipe} if config.recipe else {}), **recipe_changes(config)}


def _card_description(config: TrainConfig) -> str:
    """Say how the run differs from its recipe: a shortened run must not pass for the paper's."""
    text = f"Trained by gastbench train ({config.recipe or 'custom'} recipe, {config.epochs} epochs"
    if config.model_overrides:  # card recipes are flat, so the model's own arguments are said here
        text += ", model arguments " + ", ".join(f"{k}={v!r}" for k, v in sorted(config.model_overrides.items()))
    changed = recipe_changes(config) if config.recipe else {}
    if not changed:
        return text + ")."
    from ..recipes import recipe_settings

    base = recipe_settings(config.recipe)
    said = [f"{key} {value!r} instead of {base.get(key, getattr(TrainConfig(model=config.model), key))!r}"
            for key, value in changed.items()]  # fmt: skip
    return text + f"; differs from the recipe: {', '.join(said)})."


#: Why a new card's licence is cc-by-nc-4.0 (card_for_weights' default), said on the card itself.
_LICENCE_NOTE = (
    " Licence cc-by-nc-4.0 by default: weights trained on Human3.6M or HumanEva-I inherit their research-only, "
    "non-commercial terms; change it if your training data allows another."
)


def finish_run(
    lifter: Lifter,
    cfg: TrainConfig,
    result: TrainResult,
    evaluate: Callable[[WeightsInfo], EvalResult],
    log: Callable[[str], None],
    *,
    final_eval: bool,
    write_card: bool,
    command: str | None,
) -> None:
    """Save the final epoch's weights, evaluate them (``evaluate``), write the card and ``summary.json``."""
    from ..checkpoint import save_safetensors
    from ..pretrained import WeightsInfo

    weights_path = result.run_dir / WEIGHTS
    metadata = {"model": cfg.model, "epochs": str(cfg.epochs), "layout": lifter.input_layout.name,
                "causal": str(bool(lifter.causal)).lower()}  # fmt: skip
    sha = save_safetensors(state_dict_cpu(lifter), weights_path, metadata)
    result.weights_path = weights_path
    command = command or " ".join(shlex.quote(a) for a in ["gastbench", *sys.argv[1:]])
    info = WeightsInfo(
        source="file", path=str(weights_path.resolve()), sha256=sha, seed=cfg.seed, train_stride=cfg.train_stride
    )
    if final_eval:
        from ..results import save_result

        result.result = evaluate(info)
        result.result_path = save_result(result.result, result.run_dir)
        record_written(result.run_dir, result.result_path)
        avg = result.result.average_over_actions
        log(f"final weights (epoch {cfg.epochs}): MPJPE {avg.mpjpe_mm:.2f} mm, P-MPJPE {avg.p_mpjpe_mm:.2f} mm")
    if write_card:
        _write_card(lifter, cfg, result, command, log)
    summary = {
        "model": cfg.model,
        "epochs": cfg.epochs,
        "weights": str(weights_path),
        "sha256": sha,
        "result": str(result.result_path) if result.result_path else None,
        "card": str(result.card_path) if result.card_path else None,
        "final_loss": result.final_loss,
        "notes": result.notes,
    }
    write_text_file(result.run_dir / SUMMARY, json.dumps(summary, indent=2) + "\n")


def _write_card(
    lifter: Lifter, cfg: TrainConfig, result: TrainResult, command: str, log: Callable[[str], None]
) -> None:
    from ..cards import write_card
    from ..pretrained import card_for_weights

    assert result.weights_path is not None
    try:
        card = card_for_weights(
            lifter,
            result.weights_path,
            dataset=cfg.dataset,
            input=cfg.input,
            recipe=_recipe_for_card(cfg),
            command=command,
            description=_card_description(cfg) + _LICENCE_NOTE,
        )
        path = result.run_dir / f"{card.id}.toml"
        record_written(result.run_dir, path)  # listed first: a failed write leaves nothing unlisted behind
        write_card(card, path)
        result.card_path = path
    except GastbenchError as exc:  # e.g. a dataset or input name that is not a valid card id
        result.notes.append(f"no zoo card written: {exc}")
        log(f"no zoo card written: {exc}")


def card_for_run(config_path: str | Path, weights_path: str | Path, command: str) -> Card:
    """The zoo card of weights a past ``gastbench train`` run wrote, rebuilt from its ``config.json``.

    The same card the run itself writes (recipe, deviations from the paper's recipe, licence), with
    the sha256 and size of ``weights_path`` as it is now: for weights kept in a mirror folder, or a
    run whose card was lost. ``command`` is the training command shown on the card.
    """
    from ..data import load_dataset
    from ..pretrained import card_for_weights
    from .setup import build_lifter

    config = TrainConfig.load(config_path)
    dataset = load_dataset(config.dataset, input=config.input, data_dir=config.data_dir)
    lifter = build_lifter(config, dataset)
    return card_for_weights(
        lifter,
        weights_path,
        dataset=config.dataset,
        input=config.input,
        recipe=_recipe_for_card(config),
        command=command,
        description=_card_description(config) + _LICENCE_NOTE,
    )

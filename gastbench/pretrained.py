"""Where a lifter's weights come from: the one function every command goes through.

Order of precedence: an explicit local file (``--weights``), an untrained model
(``--random-init``, for pipeline checks), else the zoo card for the model, dataset and
2D input, fetched from the Hub (or a local mirror) and verified by sha256. The returned
:class:`WeightsInfo` carries what evaluating the weights needs (their training frame
stride), so the CLI and a training run's final evaluation ask it the same way.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import torch

from .cards import Card, EvalPreset, Reported, card_id, find_card, validate_card
from .checkpoint import load_safetensors_strict, read_safetensors_header, state_dict_mismatches
from .errors import GastbenchError, WeightsError, not_a_file
from .lifter import Lifter
from .process_state import seeded
from .registry import create_lifter, get_lifter_spec, native_layout
from .results import RANDOM_INIT
from .run_folder import CONFIG
from .skeleton import Skeleton, get_layout

__all__ = [
    "WeightsInfo",
    "card_for_conversion",
    "card_for_weights",
    "load_pretrained",
    "recorded_layout",
    "recorded_overrides",
    "resolve_lifter",
    "run_folder_preset",
]

WeightsSource = Literal["random-init", "file", "hub"]  # "random-init": results.RANDOM_INIT


@dataclass(frozen=True)
class WeightsInfo:
    """Provenance of the weights a result was computed with (stored in every record)."""

    source: WeightsSource
    path: str | None = None
    sha256: str | None = None
    card: str | None = None
    repo_id: str | None = None
    revision: str | None = None
    seed: int | None = None
    #: Frame stride of the video the weights were trained on, when the card or the training
    #: run says so; the evaluator feeds video at the same stride.
    train_stride: int | None = None
    #: Whether the weights were trained for a causal model (their file's ``causal`` metadata;
    #: None: not recorded). A causal model on non-causal weights is not its paper's model.
    trained_causal: bool | None = None
    #: Every file read to get these weights (the file, its run's config, the card): never an output.
    read_files: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def untrained(self) -> bool:
        return self.source == RANDOM_INIT

    @property
    def preset(self) -> EvalPreset:
        return EvalPreset(train_stride=self.train_stride)

    def to_dict(self) -> dict[str, Any]:
        """The record's view: the file's name, never the machine's absolute path (the sha256 identifies it)."""
        out = asdict(self)
        del out["read_files"]
        if self.path is not None:
            out["path"] = Path(self.path).name
        return out


def resolve_lifter(
    name: str,
    *,
    dataset: str,
    input: str,
    layout: str | Skeleton | None = None,
    weights: str | Path | None = None,
    random_init: bool = False,
    seed: int = 0,
    offline: bool = False,
    **overrides: Any,
) -> tuple[Lifter, WeightsInfo]:
    """Build ``name`` for data in ``layout`` and give it weights; return the model and their provenance.

    The layout the model is built at: the one a weights file records (``layout`` in its
    safetensors metadata, as ``gastbench convert`` and training write it) or a zoo card names;
    else the model's native layout when it is inside ``layout`` (:func:`native_layout`), for a
    file without a record the first of those two its tensors fit; else ``layout``.
    """
    if weights is not None and random_init:
        raise WeightsError("choose either --weights or --random-init, not both")
    if weights is not None:  # a file converted from a reduced model says how it was built
        overrides = {**recorded_overrides(weights), **overrides}
    if layout is not None:
        layout = _build_layout(name, layout, weights, random_init, dataset, input)
    # Seeded construction makes a random-init model reproducible; the caller's generators are left as they were.
    with seeded(seed):
        lifter = create_lifter(name, layout=layout, **overrides)
    if random_init:
        return lifter, WeightsInfo(source=RANDOM_INIT, seed=seed)
    if weights is not None:
        sha = load_safetensors_strict(lifter, weights)
        preset = run_folder_preset(Path(weights))
        config = Path(weights).parent / CONFIG
        return lifter, WeightsInfo(
            source="file", path=str(Path(weights).resolve()), sha256=sha, train_stride=preset.train_stride,
            trained_causal=_trained_causal(weights),
            read_files=(str(Path(weights).resolve()), *([str(config.resolve())] if config.is_file() else [])),
        )  # fmt: skip
    return lifter, load_pretrained(lifter, name, dataset=dataset, input=input, offline=offline)


def _trained_causal(path: str | Path) -> bool | None:
    try:
        value = read_safetensors_header(path).metadata.get("causal")
    except WeightsError:
        return None
    return {"true": True, "false": False}.get(value or "")


def recorded_layout(path: str | Path) -> str | None:
    """The input layout a safetensors file's metadata says its weights are for (None: not recorded or unreadable)."""
    try:
        return read_safetensors_header(path).metadata.get("layout")
    except WeightsError:
        return None  # the strict loader reports an unreadable file with its own message


def recorded_overrides(path: str | Path) -> dict[str, Any]:
    """The factory overrides a safetensors file's metadata says its model was built with (``model_overrides``,
    written by ``gastbench convert --model-arg``); empty when none are recorded or the file is unreadable."""
    try:
        raw = read_safetensors_header(path).metadata.get("model_overrides")
    except WeightsError:
        return {}  # the strict loader reports an unreadable file with its own message
    if not raw:
        return {}
    try:
        values = json.loads(raw)
    except json.JSONDecodeError:
        values = None
    if not isinstance(values, dict):
        raise WeightsError(
            f"weights {path}: safetensors metadata 'model_overrides' must be a JSON object, got {raw[:80]!r}"
        )
    return values


def _file_shapes(path: str | Path) -> dict[str, torch.Tensor] | None:
    try:
        return read_safetensors_header(path).meta_tensors()
    except WeightsError:
        return None


def _build_layout(
    name: str, data: str | Skeleton, weights: str | Path | None, random_init: bool, dataset: str, input: str
) -> Skeleton:
    data_layout = get_layout(data)
    native = native_layout(name, data_layout)
    if random_init:
        return native
    if weights is None:
        try:
            card = find_card(name, dataset=dataset, input=input)
        except GastbenchError:
            return native  # load_pretrained says what is missing
        return get_layout(card.layout) if card.layout else native
    recorded = recorded_layout(weights)
    if recorded is not None:
        chosen = get_layout(recorded)
        if not all(j in data_layout.joint_names for j in chosen.joint_names):
            raise WeightsError(
                f"weights {weights} are for layout {chosen.name!r} (safetensors metadata 'layout'), but the data "
                f"gives {data_layout.name!r}, which lacks {[j for j in chosen.joint_names if j not in data_layout.joint_names]}"
            )
        return chosen
    shapes = _file_shapes(weights)
    if shapes is not None and native.name != data_layout.name:
        for candidate in (native, data_layout):
            probe = create_lifter(name, layout=candidate)
            if not state_dict_mismatches(probe.state_dict(), shapes):
                return candidate
    return native


def load_pretrained(
    lifter: Lifter, name: str, *, dataset: str | None, input: str | None, offline: bool = False
) -> WeightsInfo:
    """Load the zoo card's verified weights for ``name`` on ``dataset``/``input`` into ``lifter``."""
    from .hub import fetch_weights  # the Hub client is imported only when weights are fetched

    card = find_card(name, dataset=dataset, input=input, require_weights=False)
    if not card.has_weights:
        raise WeightsError(weights_unavailable(card))
    path = fetch_weights(card, offline=offline)
    sha = load_safetensors_strict(lifter, path)
    return WeightsInfo(
        source="hub",
        path=str(path),
        sha256=sha,
        card=card.id,
        repo_id=card.repo_id,
        revision=card.revision,
        train_stride=card.preset.train_stride,
        trained_causal=_trained_causal(path),
        read_files=(str(Path(path).resolve()), *([str(card.path.resolve())] if card.path is not None else [])),
    )


def weights_problem(name: str, dataset: str, input: str, weights: str | Path | None) -> GastbenchError | None:
    """Why ``name``'s weights for ``dataset``/``input`` cannot be had (a missing file, a card without
    weights), checked without loading anything; None when they can."""
    if weights is not None:
        path = Path(weights)
        return None if path.is_file() else WeightsError(f"weights file {path} {not_a_file(path)}")
    try:
        card = find_card(name, dataset=dataset, input=input, require_weights=False)
    except GastbenchError as exc:
        return exc
    return None if card.has_weights else WeightsError(weights_unavailable(card))


def weights_unavailable(card: Card) -> str:
    """What to do when ``card`` has no weights yet: train it, or convert the authors' checkpoint."""
    train = card.command or f"gastbench train {card.lifter} --dataset {card.dataset} --input {card.input}"
    try:
        fmt = get_lifter_spec(card.lifter).checkpoint_format
    except GastbenchError:
        fmt = None
    convert = (
        f", or convert the authors' checkpoint with `gastbench convert --from {fmt.name} SRC --out OUT.safetensors "
        f"--model {card.lifter}`"
        if fmt is not None
        else ""
    )
    return (
        f"zoo card {card.id!r} has no published weights yet (status {card.status!r}); train it with "
        f"`{train}`{convert}, then pass `--weights OUT.safetensors`"
    )


def run_folder_preset(weights: Path) -> EvalPreset:
    """The preset of the training run that wrote ``weights`` (its ``config.json`` beside it), if any."""
    config = weights.parent / CONFIG
    if not config.is_file():
        return EvalPreset()
    try:
        recipe = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return EvalPreset()  # not a gastbench run folder: nothing to infer
    return EvalPreset.from_recipe(recipe) if isinstance(recipe, dict) else EvalPreset()


def card_for_weights(
    lifter: Lifter,
    weights_path: str | Path,
    *,
    dataset: str,
    input: str,
    recipe: dict[str, Any],
    command: str,
    repo_id: str | None = None,
    filename: str | None = None,
    revision: str = "",
    # Weights inherit the research-only terms of Human3.6M / HumanEva-I, as the zoo's other cards.
    license: str = "cc-by-nc-4.0",
    description: str = "",
    reported: Reported | None = None,
) -> Card:
    """A card for the safetensors file ``lifter``'s weights were saved to, built from the lifter in memory.

    The file is hashed and checked against the lifter's state dict (keys and shapes), so a
    run with overridden model arguments gets a card describing the model it trained. The
    status is ``local`` (hashed, not on the Hub) unless a 40-hex ``revision`` is given.
    """
    from .checkpoint import file_sha256

    weights_path = Path(weights_path)
    problems = state_dict_mismatches(lifter.state_dict(), read_safetensors_header(weights_path).meta_tensors())
    if problems:
        raise WeightsError(
            f"weights {weights_path} do not fit {lifter.name or type(lifter).__name__}: " + "; ".join(problems)
        )
    name = lifter.name or type(lifter).__name__
    cid = card_id(name, dataset, input)
    card = Card(
        id=cid,
        lifter=name,
        layout=lifter.input_layout.name,
        dataset=dataset,
        input=input,
        status="published" if revision else "local",
        repo_id=repo_id or f"gastbench/{cid}",
        filename=filename or f"{cid}.safetensors",
        revision=revision,
        sha256=file_sha256(weights_path),
        size=weights_path.stat().st_size,
        license=license,
        params=lifter.num_parameters(),
        receptive_field=lifter.receptive_field,
        description=description,
        command=command,
        recipe=dict(recipe),
        reported=reported,
    )
    validate_card(card)
    return card


_CONVERTED = " Authors' release, converted:"


def card_for_conversion(card: Card, weights_path: str | Path, original_path: str | Path) -> Card:
    """``card`` made ``local`` for weights ``gastbench convert`` made from the authors' ``original_path``.

    The converted file must say (safetensors metadata ``source_sha256``, ``gastbench_model``) that it was
    converted from exactly that original for ``card``'s lifter; both files' sha256 go into the description,
    so the authors' release can be checked as well as the converted file. Recipe, licence, reported
    numbers and Hub location are kept from ``card``.
    """
    from .hashing import file_sha256

    weights_path, original_path = Path(weights_path), Path(original_path)
    for path in (weights_path, original_path):
        if not path.is_file():
            raise WeightsError(f"weights {path}: {not_a_file(path)}")
    meta = read_safetensors_header(weights_path).metadata
    original_sha = file_sha256(original_path)
    if meta.get("source_sha256") != original_sha:
        raise WeightsError(
            f"weights {weights_path}: metadata 'source_sha256' is {meta.get('source_sha256')!r}, but {original_path} "
            f"has sha256 {original_sha}; convert that file with `gastbench convert` and pass the result"
        )
    if meta.get("gastbench_model") != card.lifter:
        raise WeightsError(
            f"weights {weights_path} were converted for {meta.get('gastbench_model')!r}, but card {card.id!r} is for {card.lifter!r}"
        )
    lifter = create_lifter(card.lifter, layout=get_layout(meta.get("layout") or card.layout))
    source_format = meta.get("source_format", "")
    converted = card_for_weights(lifter, weights_path, dataset=card.dataset, input=card.input, recipe=card.recipe,
                                 command="")  # fmt: skip
    base = card.description.split(_CONVERTED)[0].rstrip()  # a card converted before says it once, not twice
    description = (
        f"{base}{_CONVERTED} {original_path.name} "
        f"(sha256 {original_sha}) -> {weights_path.name} (sha256 {converted.sha256}) by gastbench convert --from {source_format}."
    ).strip()
    made = replace(
        converted,
        repo_id=card.repo_id,
        filename=card.filename,
        license=card.license,
        description=description,
        command=f"gastbench convert --from {source_format} {original_path.name} --out {weights_path.name} --model {card.lifter}",
        reported=card.reported,
    )
    validate_card(made)
    return made

"""What the site says about a registered model: parameters, receptive field, FLOPs per frame and the
scoring each protocol applies to it, all taken from a model built through the registry.

The paper convention shown for a family is :func:`gastbench.evaluation.resolve_protocol` applied to
one of its models, the function the evaluation itself calls, so the site cannot drift from it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..errors import GastbenchError
from ..evaluation.protocol import EvalOptions, ResolvedProtocol, resolve_protocol
from ..flop_count import flops_per_frame
from ..lifter import PaperConvention
from ..process_state import process_state_restored
from ..registry import create_lifter, get_lifter_spec, list_lifters, native_layout
from ..skeleton import get_layout, list_layouts

__all__ = ["ModelFacts", "ModelCatalog"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelFacts:
    """One registered model at one input layout; ``error`` says why it could not be built (then the rest
    is None) or why its FLOPs were not counted."""

    name: str
    layout: str
    family: str = ""
    paper: str = ""
    url: str = ""
    params: int | None = None
    receptive_field: int | None = None
    flops_per_frame: float | None = None
    convention: PaperConvention | None = None
    paper_protocol: ResolvedProtocol | None = None
    standard_protocol: ResolvedProtocol | None = None
    error: str = ""


class ModelCatalog:
    """Builds each (model, layout) once, under a restored process state (building draws random weights)."""

    def __init__(self) -> None:
        self._facts: dict[tuple[str, str], ModelFacts] = {}

    def layout_for(self, model: str, dataset: str, card_layout: str | None) -> str:
        """The input layout a row's model ran at: its card's, else the model's native one for the dataset's
        layout (h36m, humaneva), else the model's default."""
        if card_layout:
            return card_layout
        try:
            if dataset in list_layouts():
                return native_layout(model, get_layout(dataset)).name
            return get_lifter_spec(model).default_layout
        except GastbenchError:
            return dataset

    def facts(self, model: str, layout: str) -> ModelFacts:
        key = (model, layout)
        if key not in self._facts:
            self._facts[key] = self._build(model, layout)
        return self._facts[key]

    def _build(self, model: str, layout: str) -> ModelFacts:
        try:
            spec = get_lifter_spec(model)
        except GastbenchError as exc:
            return ModelFacts(name=model, layout=layout, error=str(exc))
        missing = spec.missing_requirements()
        if missing:
            return ModelFacts(
                name=model, layout=layout, family=spec.family, paper=spec.paper,
                error=f"building {model} needs {', '.join(missing)} (not installed where this site was generated)",
            )  # fmt: skip
        try:
            with process_state_restored():
                lifter = create_lifter(model, layout=layout)
            paper = resolve_protocol(lifter, EvalOptions(convention="paper"))
            standard = resolve_protocol(lifter, EvalOptions())
        except GastbenchError as exc:
            return ModelFacts(name=model, layout=layout, family=spec.family, paper=spec.paper, error=str(exc))
        flops, error = None, ""
        try:
            flops = flops_per_frame(lifter)
            log.debug("site: %s at layout %s: %.2f MFLOPs per frame", model, layout, flops / 1e6)
        except Exception as exc:  # noqa: BLE001 - a plugin's forward may raise anything; the page says so
            error = f"FLOPs not counted: {model}'s forward raised {type(exc).__name__}: {exc}"
        meta = lifter.metadata
        return ModelFacts(
            name=model, layout=lifter.input_layout.name, family=meta.family, paper=meta.paper, url=meta.url,
            params=lifter.num_parameters(), receptive_field=lifter.receptive_field, flops_per_frame=flops,
            convention=meta.convention, paper_protocol=paper, standard_protocol=standard, error=error,
        )  # fmt: skip

    def families(self) -> list[ModelFacts]:
        """One model per registered family (the first that builds, at its default layout), by family name."""
        chosen: dict[str, ModelFacts] = {}
        for name in list_lifters():
            spec = get_lifter_spec(name)
            if spec.family in chosen and chosen[spec.family].paper_protocol is not None:
                continue
            facts = self.facts(name, spec.default_layout)
            if spec.family not in chosen or facts.paper_protocol is not None:
                chosen[spec.family] = facts
        return [chosen[f] for f in sorted(chosen)]

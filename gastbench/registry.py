"""The one door in: register lifters by decorated factory, list them, create them.

Every family joins through the ``gastbench.lifters`` entry-point group, the path a
contributor's package takes -- GAST-Net (:mod:`gastbench.models`) and the baselines are
declared there by gastbench's own ``pyproject.toml``::

    [project.entry-points."gastbench.lifters"]
    my-lifters = "my_package.lifters"      # importing the module registers its lifters

gastbench's own entry points load first, so a plugin can never take a built-in name. Each
plugin loads in isolation: whatever it raises on import (``SystemExit`` included) or any name
it takes twice is one warning naming its package, and nothing it registered stays behind.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, GastbenchError
from .lifter import Lifter
from .model_id import parse_model_id
from .recipes import recipes_restored
from .skeleton import Skeleton, get_layout

if TYPE_CHECKING:
    import torch

__all__ = [
    "ENTRY_POINT_GROUP",
    "CheckpointFormat",
    "LifterSpec",
    "checkpoint_formats",
    "count_indexed_blocks",
    "dim_size",
    "register_lifter",
    "list_lifters",
    "get_lifter_spec",
    "create_lifter",
    "load_plugins",
    "native_layout",
    "registry_restored",
]

ENTRY_POINT_GROUP = "gastbench.lifters"
_OWN_DISTRIBUTION = "gastbench"


def _same_key(key: str) -> str:
    return key


@dataclass(frozen=True)
class CheckpointFormat:
    """How a family's original repository stores a model: what ``gastbench convert --from NAME`` reads.

    Declared next to the model and handed to :func:`register_lifter`, so a plugin's family
    converts the same way as the built-in ones.

    Attributes:
        name: the ``--from`` name (e.g. ``"videopose3d"``).
        repository: where the original checkpoints come from (named in errors).
        containers: top-level entries that may hold the state dict (e.g. ``"model_pos"``).
        facts: architecture facts of a state dict (widths, block counts) compared before any
            key, so a mismatch is one precise sentence; a None fact of the model is not compared.
        rename: original key -> gastbench key (after a DataParallel ``module.`` prefix is stripped).
        statistics: data statistics the original pipeline applies outside the network (names,
            e.g. ``("stat_3d", "stat_2d")``); conversion refuses without them.
        fold: ``(tensors, {name: loaded statistics}, (width, height)) -> (tensors, metadata)``:
            folds those statistics into the weights, so the model takes and returns gastbench's units.
    """

    name: str
    repository: str
    containers: tuple[str, ...]
    facts: Callable[[Mapping[str, torch.Tensor]], dict[str, Any]]
    rename: Callable[[str], str] = _same_key
    statistics: tuple[str, ...] = ()
    fold: Callable[..., tuple[dict[str, torch.Tensor], dict[str, str]]] | None = None


def dim_size(state: Mapping[str, torch.Tensor], key: str, dim: int) -> int | None:
    """``state[key].shape[dim]``, or None when the key or dimension is absent (a fact helper)."""
    t = state.get(key)
    return int(t.shape[dim]) if t is not None and t.dim() > dim else None


def count_indexed_blocks(keys: Iterable[str], pattern: str) -> int:
    """How many distinct indices ``pattern``'s first group matches among ``keys`` (a fact helper)."""
    rx = re.compile(pattern)
    return len({m.group(1) for k in keys if (m := rx.match(k))})


@dataclass(frozen=True)
class LifterSpec:
    """What the registry knows about a lifter before building it."""

    name: str
    factory: Callable[..., Lifter]
    family: str
    paper: str = ""
    default_layout: str = "h36m"
    layouts: tuple[str, ...] = ("h36m", "h36m16", "humaneva")
    tags: tuple[str, ...] = field(default=())
    source: str = ""
    checkpoint_format: CheckpointFormat | None = None
    #: Importable modules the factory needs beyond gastbench's own dependencies (an optional
    #: extra, e.g. ``("timm",)``); the model stays listed when they are missing.
    requires: tuple[str, ...] = field(default=())

    def missing_requirements(self) -> list[str]:
        """The modules of :attr:`requires` that cannot be imported here (empty when it can be built)."""
        return [module for module in self.requires if not _importable(module)]

    @property
    def description(self) -> str:
        doc = (self.factory.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


_REGISTRY: dict[str, LifterSpec] = {}
_plugins_loaded = False
_IMPORTABLE: dict[str, bool] = {}


def _importable(module: str) -> bool:
    """Whether ``module`` imports; a real import, since an installed but broken package (timm beside
    a torchvision built for another torch) fails only there."""
    if module not in _IMPORTABLE:
        try:
            importlib.import_module(module)
            _IMPORTABLE[module] = True
        except Exception:  # any failure means the model cannot be built here
            _IMPORTABLE[module] = False
    return _IMPORTABLE[module]


def register_lifter(
    name: str | None = None,
    *,
    family: str,
    paper: str = "",
    default_layout: str = "h36m",
    layouts: tuple[str, ...] = ("h36m", "h36m16", "humaneva"),
    tags: tuple[str, ...] = (),
    checkpoint_format: CheckpointFormat | None = None,
    requires: tuple[str, ...] = (),
) -> Callable[[Callable[..., Lifter]], Callable[..., Lifter]]:
    """Decorator registering a factory ``f(layout: Skeleton, **overrides) -> Lifter``.

    ``checkpoint_format`` declares how the family's original checkpoints are stored, so
    ``gastbench convert`` can import them.

    The name defaults to the function name with ``_`` turned into ``-``. Registering a
    second, different factory under a taken name is an error.
    """

    def decorate(factory: Callable[..., Lifter]) -> Callable[..., Lifter]:
        lifter_name = name or factory.__name__.replace("_", "-")
        source = f"{factory.__module__}:{factory.__qualname__}"
        existing = _REGISTRY.get(lifter_name)
        if existing is not None and existing.source != source:
            raise ConfigError(
                f"it registers lifter {lifter_name!r}, which {existing.source} already registered (kept); "
                f"{source} must choose another name"
            )
        for layout in (default_layout, *layouts):
            get_layout(layout)  # fail at registration, not at first use
        _REGISTRY[lifter_name] = LifterSpec(
            name=lifter_name,
            factory=factory,
            family=family,
            paper=paper,
            default_layout=default_layout,
            layouts=tuple(layouts),
            tags=tuple(tags),
            source=source,
            checkpoint_format=checkpoint_format,
            requires=tuple(requires),
        )
        return factory

    return decorate


@contextmanager
def registry_restored() -> Iterator[None]:
    """Undo, on exit, every lifter and recipe registered and every plugin loaded inside the block.

    For code that experiments with registrations (tests, notebooks): the registry and the
    recipe table are global, and this keeps one experiment from leaking into the next.
    """
    global _plugins_loaded
    load_plugins()  # the snapshot holds the built-in models and the installed plugins
    saved, loaded_before = dict(_REGISTRY), _plugins_loaded
    with recipes_restored():
        try:
            yield
        finally:
            _REGISTRY.clear()
            _REGISTRY.update(saved)
            _plugins_loaded = loaded_before


def load_plugins(force: bool = False) -> None:
    """Import every ``gastbench.lifters`` entry point, gastbench's own first (once).

    A plugin that fails to import, or registers a name already taken, is reported as one
    warning naming its package and leaves no registration behind, so one broken package
    does not hide every other model nor replace a built-in one.
    """
    global _plugins_loaded
    if _plugins_loaded and not force:
        return
    _plugins_loaded = True
    points = sorted(
        entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (_distribution(ep) != _OWN_DISTRIBUTION, ep.name)
    )
    for ep in points:
        before = dict(_REGISTRY)
        try:
            loaded = ep.load()
            if callable(loaded) and not isinstance(loaded, type):
                loaded()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - a plugin may raise anything, SystemExit included
            _REGISTRY.clear()
            _REGISTRY.update(before)  # nothing half-registered stays
            why = str(exc) if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"
            warnings.warn(
                f"gastbench: lifter plugin {ep.name!r} ({ep.value}, package {_distribution(ep) or '?'}) was not loaded: "
                f"{why}",
                stacklevel=2,
            )
            continue
        _warn_if_nothing_registered(ep.name, ep.module)


def _distribution(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    return str(getattr(dist, "name", "") or "")


def _warn_if_nothing_registered(name: str, module_name: str) -> None:
    """A plugin that imported but registered no lifter is most often a shadowed or empty package."""
    import sys

    sources = {spec.source.split(":")[0] for spec in _REGISTRY.values()}
    if any(src == module_name or src.startswith(module_name + ".") for src in sources):
        return
    module = sys.modules.get(module_name)
    where = getattr(module, "__file__", None)
    if where is None:  # a folder without __init__.py: a namespace package, e.g. the project folder itself
        folders = list(getattr(module, "__path__", []))
        hint = (
            f"{module_name!r} resolved to the folder {folders[0] if folders else '?'} (no __init__.py), which "
            "shadows the installed package; run from another directory or rename the folder"
        )
    else:
        hint = f"{module_name!r} was imported from {where}; does it call @register_lifter?"
    warnings.warn(f"gastbench: lifter plugin {name!r} registered no lifter: {hint}", stacklevel=3)


def checkpoint_formats() -> dict[str, CheckpointFormat]:
    """Every registered original-checkpoint format by its ``--from`` name, sorted."""
    load_plugins()
    formats = {s.checkpoint_format.name: s.checkpoint_format for s in _REGISTRY.values() if s.checkpoint_format}
    return dict(sorted(formats.items()))


def list_lifters(pattern: str = "*", family: str | None = None) -> list[str]:
    """Registered names matching a shell-style wildcard (``"gast-*"``), sorted."""
    load_plugins()
    names = [n for n, spec in _REGISTRY.items() if fnmatch.fnmatchcase(n, pattern)]
    if family is not None:
        names = [n for n in names if _REGISTRY[n].family == family]
    return sorted(names, key=_natural_key)


def _natural_key(name: str) -> list[Any]:
    import re

    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def get_lifter_spec(name: str) -> LifterSpec:
    load_plugins()
    base = parse_model_id(name).lifter  # "gast-t81.h36m-cpn" -> "gast-t81" (timm's arch.tag)
    try:
        return _REGISTRY[base]
    except KeyError:
        close = difflib.get_close_matches(base, list(_REGISTRY), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"unknown lifter {name!r}{hint} (`gastbench models` lists them)") from None


def native_layout(name: str, data_layout: str | Skeleton) -> Skeleton:
    """The input layout to build ``name`` at for data in ``data_layout``.

    A model whose native (default) layout is a strict subset of the data's, by joint name
    (h36m16 inside h36m: Martinez, SemGCN), is built at its native layout and fed the data's
    joints of it; otherwise it is built at the data's layout.
    """
    spec = get_lifter_spec(name)
    data = get_layout(data_layout)
    native = get_layout(spec.default_layout)
    if native.name != data.name and all(j in data.joint_names for j in native.joint_names):
        return native
    return data


def create_lifter(
    name: str,
    layout: str | Skeleton | None = None,
    **overrides: Any,
) -> Lifter:
    """Build a registered lifter for an input joint layout, with fresh (random) weights.

    Weights come from :func:`gastbench.pretrained.resolve_lifter` / ``load_pretrained``; the
    registry knows names and factories only.

    Args:
        name: registry name, optionally with a zoo tag (``"gast-t81.h36m-cpn"``).
        layout: input joint layout (name or :class:`Skeleton`); the model's default if None.
        overrides: forwarded to the factory (e.g. ``causal=True``, ``dropout=0.5``).
    """
    spec = get_lifter_spec(name)
    skeleton = get_layout(layout if layout is not None else spec.default_layout)
    if skeleton.name not in spec.layouts:
        raise ConfigError(
            f"lifter {spec.name!r} does not support layout {skeleton.name!r}; supported: {', '.join(spec.layouts)}"
        )
    try:
        lifter = spec.factory(skeleton, **overrides)
    except TypeError as exc:
        raise ConfigError(f"lifter {spec.name!r}: bad override(s) {sorted(overrides)}: {exc}") from None
    except GastbenchError:
        raise
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - a plugin's factory may raise anything
        raise ConfigError(
            f"lifter {spec.name!r} ({spec.source}) failed to build: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(lifter, Lifter):
        raise ConfigError(
            f"lifter {spec.name!r} ({spec.source}): its factory returned {type(lifter).__name__}, not a Lifter"
        )
    lifter.name = spec.name
    return lifter

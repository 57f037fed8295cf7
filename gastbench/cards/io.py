"""Reading and writing zoo card files (TOML), with validation naming file and key."""

from __future__ import annotations

import math
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import tomli_w

from ..errors import ConfigError
from ..recipes import check_settings
from .schema import Card, Reported, validate_card

__all__ = ["card_from_dict", "card_to_dict", "dumps_card", "load_card", "write_card"]


def load_card(path: str | Path) -> Card:
    """Read and validate one card; any problem is a :class:`ConfigError` naming file and key."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"zoo card {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"zoo card {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"zoo card {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise ConfigError(f"zoo card {path} nests tables or arrays too deeply to be a card") from None
    except OSError as exc:
        raise ConfigError(f"zoo card {path} cannot be read: {exc.strerror or exc}") from None
    return card_from_dict(raw, path)


_TOP_KEYS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "lifter": (str,),
    "layout": (str,),
    "dataset": (str,),
    "input": (str,),
    "status": (str,),
    "repo_id": (str,),
    "filename": (str,),
    "revision": (str,),
    "sha256": (str,),
    "size": (int,),
    "license": (str,),
    "params": (int,),
    "receptive_field": (int,),
    "description": (str,),
    "command": (str,),
    "recipe": (dict,),
    "reported": (dict,),
}
_REQUIRED = ("id", "lifter", "layout", "dataset", "input", "status", "repo_id", "filename", "license")
_REPORTED_KEYS = ("source", "actions", "p1", "p2", "p1_avg", "p2_avg", "params_m", "note")


def card_from_dict(raw: dict[str, Any], path: Path | None) -> Card:
    where = f"zoo card {path}" if path is not None else "zoo card"
    unknown = sorted(set(raw) - set(_TOP_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(_TOP_KEYS)}")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise ConfigError(f"{where}: missing required key(s) {missing}")
    for key, value in raw.items():
        types = _TOP_KEYS[key]
        # bool is an int subclass in Python; a card never means True by 1.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ConfigError(
                f"{where}: key {key!r} must be {'/'.join(t.__name__ for t in types)}, got {type(value).__name__}"
            )
    for key in ("size", "params", "receptive_field"):
        if raw.get(key, 0) < 0:
            raise ConfigError(f"{where}: key {key!r} must be >= 0, got {raw[key]}")
    reported = _reported_from_dict(raw["reported"], where) if "reported" in raw else None
    recipe = raw.get("recipe", {})
    _check_recipe_table(recipe, where)
    card = Card(
        id=raw["id"],
        lifter=raw["lifter"],
        layout=raw["layout"],
        dataset=raw["dataset"],
        input=raw["input"],
        status=raw["status"],
        repo_id=raw["repo_id"],
        filename=raw["filename"],
        revision=raw.get("revision", ""),
        sha256=raw.get("sha256", ""),
        size=raw.get("size", 0),
        license=raw["license"],
        params=raw.get("params", 0),
        receptive_field=raw.get("receptive_field", 0),
        description=raw.get("description", ""),
        command=raw.get("command", ""),
        recipe=dict(recipe),
        reported=reported,
        path=path,
    )
    validate_card(card)
    return card


def _check_recipe_table(recipe: dict[str, Any], where: str) -> None:
    """``name`` (a recipe ``"<family>/<dataset>"``) and the settings the run changed, in the recipe vocabulary."""
    name = recipe.get("name")
    if name is not None and (not isinstance(name, str) or name.count("/") != 1):
        raise ConfigError(f"{where}: [recipe] name must be a recipe name '<family>/<dataset>', got {name!r}")
    check_settings({k: v for k, v in recipe.items() if k != "name"}, f"{where}: [recipe]")


def _reported_from_dict(raw: Any, where: str) -> Reported:
    unknown = sorted(set(raw) - set(_REPORTED_KEYS))
    if unknown:
        raise ConfigError(f"{where}: [reported] unknown key(s) {unknown}; allowed: {list(_REPORTED_KEYS)}")
    if not isinstance(raw.get("source"), str) or not raw["source"]:
        raise ConfigError(f"{where}: [reported] needs source = where the numbers are printed")
    actions = raw.get("actions", [])
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        raise ConfigError(f"{where}: [reported] actions must be a list of strings")
    lists: dict[str, tuple[float, ...]] = {}
    for key in ("p1", "p2"):
        values = raw.get(key, [])
        if not isinstance(values, list) or not all(_is_number(v) for v in values):
            raise ConfigError(f"{where}: [reported] {key} must be a list of numbers (mm)")
        if values and len(values) != len(actions):
            raise ConfigError(
                f"{where}: [reported] {key} has {len(values)} values but actions has {len(actions)}; they must align"
            )
        lists[key] = tuple(float(v) for v in values)
    scalars: dict[str, float | None] = {}
    for key in ("p1_avg", "p2_avg", "params_m"):
        value = raw.get(key)
        if value is not None and not _is_number(value):
            raise ConfigError(f"{where}: [reported] {key} must be a number, got {value!r}")
        scalars[key] = None if value is None else float(value)
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise ConfigError(f"{where}: [reported] note must be a string")
    return Reported(source=raw["source"], actions=tuple(actions), p1=lists["p1"], p2=lists["p2"], note=note, **scalars)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_KEY_ORDER = (
    "id", "lifter", "layout", "dataset", "input", "status", "repo_id", "filename", "revision", "sha256",
    "size", "license", "params", "receptive_field", "description", "command",
)  # fmt: skip


def card_to_dict(card: Card) -> dict[str, Any]:
    """The card as the plain dict its TOML holds (``path`` left out)."""
    out: dict[str, Any] = {key: getattr(card, key) for key in _KEY_ORDER}
    if card.recipe:
        out["recipe"] = dict(card.recipe)
    if card.reported is not None:
        r = card.reported
        rep: dict[str, Any] = {"source": r.source}
        if r.actions:
            rep["actions"] = list(r.actions)
        for key in ("p1", "p2"):
            if getattr(r, key):
                rep[key] = list(getattr(r, key))
        for key in ("p1_avg", "p2_avg", "params_m"):
            if getattr(r, key) is not None:
                rep[key] = getattr(r, key)
        if r.note:
            rep["note"] = r.note
        out["reported"] = rep
    return out


def dumps_card(card: Card) -> str:
    """Serialize a card to TOML (flat keys, then ``[recipe]`` and ``[reported]`` tables)."""
    validate_card(replace(card, path=None))
    return f"# gastbench zoo card: {card.id}\n" + tomli_w.dumps(card_to_dict(card))


def write_card(card: Card, path: str | Path) -> None:
    """Write ``card`` as TOML to ``path`` (a folder, or any path not ending in .toml, means ``<path>/<id>.toml``)."""
    path = Path(path)
    if path.is_dir() or path.suffix != ".toml":
        path = path / f"{card.id}.toml"
    if path.stem != card.id:
        raise ConfigError(f"zoo card {card.id!r} must be written to a file named {card.id}.toml, not {path.name}")
    from ..outputs import write_text_file

    write_text_file(path, dumps_card(card))

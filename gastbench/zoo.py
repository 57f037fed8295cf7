"""Zoo cards: one small TOML file per checkpoint, the single source of a model's metadata.

A card names the lifter and the layout, dataset and 2D input it was trained for, where its
weights live on the Hub (repo id, filename, pinned 40-hex revision) and how to verify them
(sha256, size), its licence, training recipe and command, and the numbers its paper reports.
Cards are validated when loaded; documentation tables and the leaderboard are generated
from them, never typed a second time.

Card ids follow timm's ``arch.tag``: ``gast-t81.h36m-cpn`` is lifter ``gast-t81`` trained on
``h36m`` with ``cpn`` detections. A card has one of three statuses:

- ``unpublished``: no weights exist yet (hash, size and revision stay empty: never invented);
- ``local``: weights were trained and hashed (sha256, size) but are not on the Hub yet;
- ``published``: the weights are on the Hub at a pinned revision.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

from .errors import ConfigError, WeightsError

__all__ = [
    "ZOO_DIR_ENV",
    "STATUSES",
    "Card",
    "Reported",
    "default_zoo_dir",
    "zoo_dirs",
    "load_card",
    "load_cards",
    "find_card",
    "card_id",
    "write_card",
    "dumps_card",
    "card_from_weights",
]

ZOO_DIR_ENV = "GASTBENCH_ZOO_DIR"
STATUSES = ("unpublished", "local", "published")
_HEX40 = re.compile(r"[0-9a-f]{40}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"[a-z0-9][a-z0-9_-]*\.[a-z0-9][a-z0-9_]*-[a-z0-9][a-z0-9_]*")
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Reported:
    """Numbers a paper reports for this model (millimetres), kept beside their source.

    ``actions`` and the per-action lists ``p1``/``p2`` are aligned; either list may be empty
    when the paper gives only averages. HumanEva rows name ``"<Action>/<Subject>"``.
    """

    source: str
    actions: tuple[str, ...] = ()
    p1: tuple[float, ...] = ()
    p2: tuple[float, ...] = ()
    p1_avg: float | None = None
    p2_avg: float | None = None
    params_m: float | None = None
    note: str = ""

    def avg(self, protocol: int) -> float | None:
        return {1: self.p1_avg, 2: self.p2_avg}.get(protocol)

    def per_action(self, protocol: int) -> dict[str, float]:
        values = {1: self.p1, 2: self.p2}.get(protocol, ())
        return dict(zip(self.actions, values)) if values else {}


@dataclass(frozen=True)
class Card:
    """One published (or planned) checkpoint. See the module docstring for the statuses."""

    id: str
    lifter: str
    layout: str
    dataset: str
    input: str
    status: str
    repo_id: str
    filename: str
    revision: str = ""
    sha256: str = ""
    size: int = 0
    license: str = ""
    params: int = 0
    receptive_field: int = 0
    description: str = ""
    command: str = ""
    recipe: dict[str, Any] = field(default_factory=dict)
    reported: Reported | None = None
    path: Path | None = field(default=None, compare=False)

    @property
    def has_weights(self) -> bool:
        """True once a weights file with a known hash exists (``local`` or ``published``)."""
        return self.status != "unpublished"

    def unavailable_message(self) -> str:
        """What to do when this card's weights cannot be used yet."""
        train = self.command or f"gastbench train {self.lifter} --dataset {self.dataset} --input {self.input}"
        return (
            f"zoo card {self.id!r} has no published weights yet (status {self.status!r}); train it with "
            f"`{train}`, or convert the authors' checkpoint with `gastbench convert --from <family> SRC "
            f"--to OUT.safetensors --model {self.lifter}`, then pass `--weights OUT.safetensors`"
        )


# --- locating and loading -----------------------------------------------------------------


def default_zoo_dir() -> Path:
    """The ``zoo/`` folder shipped beside the package (the repository's cards)."""
    return Path(__file__).resolve().parent.parent / "zoo"


def zoo_dirs() -> list[Path]:
    """Card folders: those in ``$GASTBENCH_ZOO_DIR`` (``os.pathsep``-separated), then the default."""
    extra = [Path(p) for p in os.environ.get(ZOO_DIR_ENV, "").split(os.pathsep) if p.strip()]
    dirs = [*extra, default_zoo_dir()]
    unique: list[Path] = []
    for d in dirs:
        if d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def card_id(lifter: str, dataset: str, input: str) -> str:
    """The timm-style id ``<lifter>.<dataset>-<input>``."""
    return f"{lifter}.{dataset}-{input}"


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
    return _card_from_dict(raw, path)


def load_cards(dirs: Iterable[str | Path] | None = None) -> list[Card]:
    """Every card in ``dirs`` (default :func:`zoo_dirs`), sorted by id; duplicate ids are an error."""
    cards: dict[str, Card] = {}
    for folder in zoo_dirs() if dirs is None else [Path(d) for d in dirs]:
        if not folder.is_dir():
            continue
        for file in sorted(folder.glob("*.toml")):
            card = load_card(file)
            if card.id in cards:
                raise ConfigError(f"zoo card id {card.id!r} is defined twice: {cards[card.id].path} and {file}")
            cards[card.id] = card
    return sorted(cards.values(), key=lambda c: c.id)


def find_card(
    name: str,
    dataset: str | None = None,
    input: str | None = None,
    *,
    require_weights: bool = True,
    cards: list[Card] | None = None,
) -> Card:
    """The card for lifter ``name`` (or id ``arch.tag``) on ``dataset``/``input``.

    Raises :class:`ConfigError` for an unknown model or input (with the alternatives) or an
    ambiguous choice, and :class:`WeightsError` if ``require_weights`` and the card has no
    weights yet, saying how to get some.
    """
    cards = load_cards() if cards is None else cards
    by_id = {c.id: c for c in cards}
    if name in by_id:
        card = by_id[name]
        for key, wanted in (("dataset", dataset), ("input", input)):
            if wanted is not None and getattr(card, key) != wanted:
                raise ConfigError(
                    f"zoo card {card.id!r} is for {key} {getattr(card, key)!r}, not {wanted!r}; "
                    f"drop the tag or the --{key} option"
                )
        return _check_weights(card, require_weights)
    if "." in name:
        lifter, tag = name.split(".", 1)
        if "-" not in tag:
            raise ConfigError(f"zoo id {name!r}: expected '<lifter>.<dataset>-<input>', e.g. 'gast-t81.h36m-cpn'")
        tag_dataset, tag_input = tag.split("-", 1)
        dataset, input = dataset or tag_dataset, input or tag_input
    else:
        lifter = name
    mine = [c for c in cards if c.lifter == lifter]
    if not mine:
        known = sorted({c.lifter for c in cards} | set(by_id))
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"no zoo card for model {name!r}{hint} (`gastbench zoo` lists the cards)")
    chosen = [c for c in mine if (dataset is None or c.dataset == dataset) and (input is None or c.input == input)]
    if not chosen:
        options = ", ".join(f"{c.dataset}/{c.input}" for c in mine)
        raise ConfigError(
            f"no zoo card for {lifter!r} on dataset {dataset or '*'!r} with input {input or '*'!r}; "
            f"cards for {lifter!r} exist for: {options}"
        )
    if len(chosen) > 1:
        options = ", ".join(c.id for c in chosen)
        raise ConfigError(f"{lifter!r} has several zoo cards ({options}); choose one with --dataset and --input")
    return _check_weights(chosen[0], require_weights)


def _check_weights(card: Card, require_weights: bool) -> Card:
    if require_weights and not card.has_weights:
        raise WeightsError(card.unavailable_message())
    return card


# --- validation ---------------------------------------------------------------------------

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


def _card_from_dict(raw: dict[str, Any], path: Path | None) -> Card:
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
    for key, value in recipe.items():
        if isinstance(value, dict):
            raise ConfigError(f"{where}: [recipe] key {key!r} is a table; recipes are flat key = value pairs")
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


def validate_card(card: Card) -> None:
    """Check the cross-field rules of a card; :class:`ConfigError` naming the file and key."""
    where = f"zoo card {card.path}" if card.path is not None else f"zoo card {card.id!r}"
    if not _ID.fullmatch(card.id):
        raise ConfigError(f"{where}: id {card.id!r} must look like '<lifter>.<dataset>-<input>' (lowercase)")
    expected_id = card_id(card.lifter, card.dataset, card.input)
    if card.id != expected_id:
        raise ConfigError(f"{where}: id {card.id!r} does not match lifter/dataset/input (expected {expected_id!r})")
    if card.path is not None and card.path.stem != card.id:
        raise ConfigError(f"{where}: file name must be the id ({card.id}.toml)")
    if card.status not in STATUSES:
        raise ConfigError(f"{where}: status {card.status!r} is not one of {', '.join(STATUSES)}")
    if not _REPO_ID.fullmatch(card.repo_id):
        raise ConfigError(f"{where}: repo_id {card.repo_id!r} must be 'owner/name'")
    if not card.filename.endswith(".safetensors") or card.filename.startswith("/"):
        raise ConfigError(f"{where}: filename {card.filename!r} must be a .safetensors file")
    if ".." in Path(card.filename).parts:
        raise ConfigError(f"{where}: filename {card.filename!r} must not contain '..'")
    if card.status == "unpublished":
        # Real results only: a card without weights must not carry a made-up hash or revision.
        filled = [k for k in ("revision", "sha256") if getattr(card, k)] + (["size"] if card.size else [])
        if filled:
            raise ConfigError(f"{where}: status 'unpublished' but {filled} are set; leave them empty until weights exist")
    else:
        if not _HEX64.fullmatch(card.sha256):
            raise ConfigError(f"{where}: status {card.status!r} needs sha256 = 64 lowercase hex digits, got {card.sha256!r}")
        if card.size <= 0:
            raise ConfigError(f"{where}: status {card.status!r} needs size = the weights file size in bytes")
    if card.status == "published" and not _HEX40.fullmatch(card.revision):
        raise ConfigError(
            f"{where}: status 'published' needs revision = a 40-hex commit id (a branch name is not pinned), "
            f"got {card.revision!r}"
        )
    if card.status == "local" and card.revision:
        raise ConfigError(f"{where}: status 'local' must not have a revision (set status = 'published')")


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
    return Reported(
        source=raw["source"], actions=tuple(actions), p1=lists["p1"], p2=lists["p2"], note=note, **scalars
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --- writing ------------------------------------------------------------------------------

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
    data = card_to_dict(card)
    lines = [f"# gastbench zoo card: {card.id}"]
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    for key, value in data.items():
        if not isinstance(value, dict):
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for name, table in tables.items():
        lines.append("")
        lines.append(f"[{_toml_key(name)}]")
        for key, value in table.items():
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    text = "\n".join(lines) + "\n"
    # The writer is small; prove every card it writes reads back to the same data.
    if tomllib.loads(text) != data:
        raise ConfigError(f"internal error: card {card.id!r} does not round-trip through TOML")
    return text


def write_card(card: Card, path: str | Path) -> None:
    """Write ``card`` as TOML to ``path`` (a folder, or any path not ending in .toml, means ``<path>/<id>.toml``)."""
    path = Path(path)
    if path.is_dir() or path.suffix != ".toml":
        path = path / f"{card.id}.toml"
    if path.stem != card.id:
        raise ConfigError(f"zoo card {card.id!r} must be written to a file named {card.id}.toml, not {path.name}")
    text = dumps_card(card)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_string(value: str) -> str:
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )
    escaped = "".join(ch if ord(ch) >= 0x20 and ord(ch) != 0x7F else f"\\u{ord(ch):04x}" for ch in escaped)
    return f'"{escaped}"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"zoo card: cannot write non-finite number {value!r}")
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"zoo card: cannot write value of type {type(value).__name__} ({value!r})")


# --- cards for freshly trained weights ----------------------------------------------------


def card_from_weights(
    lifter_name: str,
    layout: str,
    dataset: str,
    input: str,
    weights_path: str | Path,
    recipe: dict[str, Any],
    command: str,
    *,
    repo_id: str | None = None,
    filename: str | None = None,
    revision: str = "",
    # Weights inherit the research-only terms of Human3.6M / HumanEva-I, as the zoo's other cards.
    license: str = "cc-by-nc-4.0",
    description: str = "",
    reported: Reported | None = None,
) -> Card:
    """A card for a trained safetensors file: hashes it, loads it strictly, counts parameters.

    The status is ``local`` (hashed, not on the Hub) unless a 40-hex ``revision`` is given.
    """
    from .registry import create_lifter
    from .weights import file_sha256, load_weights_file

    weights_path = Path(weights_path)
    lifter = create_lifter(lifter_name, layout=layout)
    sha = load_weights_file(lifter, weights_path)  # proves the file fits the model before it gets a card
    cid = card_id(lifter_name, dataset, input)
    card = Card(
        id=cid,
        lifter=lifter_name,
        layout=lifter.input_layout.name,
        dataset=dataset,
        input=input,
        status="published" if revision else "local",
        repo_id=repo_id or f"gastbench/{cid}",
        filename=filename or f"{cid}.safetensors",
        revision=revision,
        sha256=sha,
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

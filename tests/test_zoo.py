"""Zoo cards: the shipped cards are valid and faithful; the TOML writer round-trips; lookups fail clearly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import tomli_w
import torch
from extras import skip_without_extras

from gastbench.cards import Card, Reported, dumps_card, find_card, load_card, load_cards, write_card
from gastbench.data.actions import H36M_ACTIONS
from gastbench.errors import ConfigError, WeightsError
from gastbench.pretrained import card_for_weights, resolve_lifter
from gastbench.registry import create_lifter, get_lifter_spec

CARDS = load_cards()


def test_shipped_cards_exist_and_ids_are_unique() -> None:
    ids = [c.id for c in CARDS]
    assert len(ids) == len(set(ids)) >= 14
    assert {"gast-t9.h36m-cpn", "gast-t27.h36m-cpn", "gast-t81.h36m-cpn", "gast-t81.h36m-gt"} <= set(ids)


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.id)
def test_card_matches_its_registered_lifter(card: Card) -> None:
    skip_without_extras(card.lifter)
    spec = get_lifter_spec(card.lifter)
    assert card.layout in spec.layouts
    lifter = create_lifter(card.lifter, layout=card.layout)
    assert lifter.receptive_field == card.receptive_field
    # Real results only: no card claims weights that do not exist.
    if card.status == "unpublished":
        assert card.sha256 == "" and card.revision == "" and card.size == 0
    if card.reported is not None and card.reported.params_m is not None:
        assert round(lifter.num_parameters() / 1e6, 2) == pytest.approx(card.reported.params_m)


@pytest.mark.parametrize("card", [c for c in CARDS if c.reported and c.reported.actions], ids=lambda c: c.id)
def test_reported_per_action_numbers_agree_with_their_average(card: Card) -> None:
    rep = card.reported
    assert rep is not None
    if card.dataset == "h36m":
        assert rep.actions == H36M_ACTIONS
    for values, avg in ((rep.p1, rep.p1_avg), (rep.p2, rep.p2_avg)):
        if values:
            assert avg is not None and abs(sum(values) / len(values) - avg) < 0.1


def test_seed_paper_numbers_transcribed() -> None:
    t81 = find_card("gast-t81.h36m-cpn", require_weights=False).reported
    assert t81 is not None and (t81.p1_avg, t81.p2_avg, t81.params_m) == (45.7, 35.9, 7.05)
    assert t81.per_action(1)["SittingDown"] == 60.0 and t81.per_action(2)["Walking"] == 25.0
    he = find_card("gast-t27", dataset="humaneva", input="detectron_pt_coco", require_weights=False).reported
    assert he is not None and he.per_action(2)["Box/S2"] == 27.8 and he.p2_avg == 21.2


def _card(**changes: object) -> Card:
    base = Card(
        id="semgcn.h36m-gt",
        lifter="semgcn",
        layout="h36m16",
        dataset="h36m",
        input="gt",
        status="unpublished",
        repo_id="gastbench/semgcn.h36m-gt",
        filename="semgcn.h36m-gt.safetensors",
        license="mit",
        receptive_field=1,
        command="gastbench train semgcn --dataset h36m --input gt",
        recipe={
            "name": "semgcn/h36m",
            "epochs": 50,
            "lr": 0.001,
            "flip_augment": True,
            "actions": ['quote " and \\ backslash'],
        },
        reported=Reported(source="x", actions=("A", "B"), p1=(1.0, 2.5), p1_avg=1.75, note="n"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_writer_round_trips(tmp_path: Path) -> None:
    card = _card()
    write_card(card, tmp_path)
    loaded = load_card(tmp_path / "semgcn.h36m-gt.toml")
    assert loaded == card
    assert dumps_card(loaded) == dumps_card(card)


@pytest.mark.parametrize(
    ("text_change", "message"),
    [
        (('status = "unpublished"', 'status = "published"'), "sha256"),
        (('sha256 = ""', 'sha256 = "' + "ab" * 32 + '"'), "leave them empty"),
        (('license = "mit"', 'license = "mit"\nlicence = "x"'), "unknown key"),
        (('input = "gt"', 'input = "cpn"'), "does not match"),
        (("p1 = [\n    1.0,\n    2.5,\n]", "p1 = [1.0]"), "align"),
        (("size = 0", 'size = "big"'), "'size' must be int"),
    ],
)
def test_invalid_cards_are_clear_config_errors(tmp_path: Path, text_change: tuple[str, str], message: str) -> None:
    path = tmp_path / "semgcn.h36m-gt.toml"
    path.write_text(dumps_card(_card()).replace(*text_change))
    with pytest.raises(ConfigError, match=message) as info:
        load_card(path)
    assert str(path) in str(info.value)


def test_published_needs_pinned_commit(tmp_path: Path) -> None:
    card = _card(status="published", sha256="ab" * 32, size=10, revision="main")
    with pytest.raises(ConfigError, match="40-hex"):
        write_card(card, tmp_path)


def test_find_card_errors() -> None:
    with pytest.raises(ConfigError, match="did you mean gast-t81"):
        find_card("gast-t8l", dataset="h36m", input="cpn")
    with pytest.raises(ConfigError, match="exist for: .*h36m/cpn"):
        find_card("gast-t81", dataset="h36m", input="openpose")
    with pytest.raises(ConfigError, match="several zoo cards"):
        find_card("gast-t81", require_weights=False)
    with pytest.raises(WeightsError, match="gastbench train gast-t81 --dataset h36m --input cpn"):
        find_card("gast-t81", dataset="h36m", input="cpn")
    assert find_card("gast-t81.h36m-gt", require_weights=False).input == "gt"
    with pytest.raises(ConfigError, match="not 'cpn'"):
        find_card("gast-t81.h36m-gt", input="cpn")


def test_pretrained_unpublished_is_a_weights_error() -> None:
    with pytest.raises(WeightsError, match="no published weights yet"):
        resolve_lifter("gast-t9", dataset="h36m", input="cpn")


def test_card_for_weights_hashes_and_counts(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from gastbench.checkpoint import file_sha256

    torch.manual_seed(0)
    lifter = create_lifter("semgcn")
    weights = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in lifter.state_dict().items()}, str(weights))
    card = card_for_weights(
        lifter, weights, dataset="h36m", input="gt", recipe={"epochs": 1}, command="gastbench train semgcn"
    )
    assert card.status == "local" and card.sha256 == file_sha256(weights) and card.size == weights.stat().st_size
    assert card.params == lifter.num_parameters() and card.id == "semgcn.h36m-gt"
    write_card(card, tmp_path)
    assert load_card(tmp_path / f"{card.id}.toml") == card
    bad = tmp_path / "bad.safetensors"
    save_file({"w": torch.zeros(1)}, str(bad))
    with pytest.raises(WeightsError, match="do not fit"):
        card_for_weights(lifter, bad, dataset="h36m", input="gt", recipe={}, command="")


@pytest.mark.parametrize(
    ("recipe", "phrase"),
    [
        ({"name": "semgcn/h36m", "downsample": 5}, "unknown setting(s) ['downsample']"),
        ({"name": "semgcn/h36m", "flip_augmentation": True}, "unknown setting(s) ['flip_augmentation']"),
        ({"name": "semgcn/h36m", "epochs": "50"}, "epochs must be int"),
        ({"name": "semgcn/h36m", "lr": -1.0}, "lr must be > 0"),
        ({"name": "semgcn"}, "name must be a recipe name '<family>/<dataset>'"),
    ],
)
def test_card_recipes_use_the_one_vocabulary(tmp_path: Path, recipe: dict, phrase: str) -> None:
    path = tmp_path / "semgcn.h36m-gt.toml"
    path.write_text(dumps_card(_card(recipe={})) + "\n[recipe]\n" + tomli_w.dumps(recipe), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_card(path)
    assert str(path) in str(info.value) and "[recipe]" in str(info.value) and phrase in str(info.value), info.value


def test_every_committed_card_names_a_registered_recipe() -> None:
    from gastbench.recipes import effective_recipe
    from gastbench.registry import load_plugins

    load_plugins()
    for card in load_cards():
        assert card.recipe.get("name"), f"{card.id}: [recipe] names no recipe"
        settings = effective_recipe(card.recipe, card.id)  # raises for a name that is not registered
        assert settings["epochs"] >= 1 and card.preset.train_stride == settings["train_stride"]

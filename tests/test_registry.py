"""Registry: names, wildcards, errors, and the entry-point path a contributor takes."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from gastbench import ConfigError, Lifter, LifterMetadata, create_lifter, list_lifters, register_lifter, registry
from gastbench.skeleton import H36M_16, H36M_17, HUMANEVA_15, Skeleton, get_layout


def test_wildcards_select_families() -> None:
    gast = list_lifters("gast-*")
    assert {"gast-t9", "gast-t27", "gast-t81", "gast-t243"} <= set(gast)
    assert all(name.startswith("gast-") for name in gast)
    assert {"videopose3d-t27", "videopose3d-t81", "videopose3d-t243"} <= set(list_lifters("videopose3d-*"))
    assert {"martinez", "semgcn", "semgcn-nonlocal"} <= set(list_lifters())


def test_natural_sort_orders_receptive_fields() -> None:
    names = [n for n in list_lifters("gast-t*") if "causal" not in n]
    assert names == ["gast-t9", "gast-t27", "gast-t81", "gast-t243"]


def test_unknown_name_suggests_close_match() -> None:
    with pytest.raises(ConfigError, match="did you mean .*gast-t27"):
        create_lifter("gast-t28")


def test_unsupported_layout_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown joint layout 'coco'"):
        create_lifter("gast-t27", layout="coco")


def test_bad_override_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="(bad|unknown) override"):
        create_lifter("gast-t27", not_an_option=3)


def test_zoo_tag_resolves_to_architecture() -> None:
    assert create_lifter("gast-t27.h36m-cpn").name == "gast-t27"


def test_duplicate_registration_is_refused() -> None:
    with pytest.raises(ConfigError, match="already registered"):

        @register_lifter("gast-t27", family="impostor")
        def impostor(layout: Skeleton) -> Lifter:  # pragma: no cover - never built
            raise AssertionError


class _Identity3D(Lifter):
    """A throwaway frame lifter: lifts (x, y) to (x, y, 0)."""

    def __init__(self, layout: Skeleton) -> None:
        super().__init__(
            input_layout=layout, output_layout=layout, receptive_field=1, causal=False,
            metadata=LifterMetadata(family="test", paper="none"),
        )  # fmt: skip

    def forward_dilated(self, x):  # type: ignore[no-untyped-def]
        import torch

        return torch.cat([x, torch.zeros_like(x[..., :1])], dim=-1)


def test_throwaway_entry_point_is_listed_and_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package that declares a `gastbench.lifters` entry point joins without touching gastbench."""
    package = tmp_path / "throwaway_lifters.py"
    package.write_text(
        textwrap.dedent(
            """
            from gastbench import Lifter, LifterMetadata, register_lifter
            import torch

            class Flat(Lifter):
                def __init__(self, layout):
                    super().__init__(input_layout=layout, output_layout=layout, receptive_field=1,
                                     causal=False, metadata=LifterMetadata(family="throwaway", paper="test"))
                    self.scale = torch.nn.Parameter(torch.ones(1))

                def forward_dilated(self, x):
                    return torch.cat([x, torch.zeros_like(x[..., :1])], dim=-1) * self.scale

            @register_lifter("throwaway-flat", family="throwaway")
            def throwaway_flat(layout, **overrides):
                '''A plugin lifter defined outside gastbench.'''
                return Flat(layout)
            """
        )
    )
    dist_info = tmp_path / "throwaway_lifters-0.0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: throwaway-lifters\nVersion: 0.0.1\n")
    (dist_info / "entry_points.txt").write_text("[gastbench.lifters]\nthrowaway = throwaway_lifters\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with registry.registry_restored():
        registry.load_plugins(force=True)
        assert "throwaway-flat" in list_lifters("throwaway-*")
        lifter = create_lifter("throwaway-flat", layout="humaneva")
        assert lifter.name == "throwaway-flat"
        assert lifter.input_layout is HUMANEVA_15
        import torch

        out = lifter(torch.zeros(2, 5, 15, 2))
        assert out.shape == (2, 5, 15, 3)
    sys.modules.pop("throwaway_lifters", None)
    assert "throwaway-flat" not in list_lifters("throwaway-*")


def test_baselines_join_through_the_entry_point() -> None:
    from importlib.metadata import entry_points

    eps = {ep.name: ep.value for ep in entry_points(group=registry.ENTRY_POINT_GROUP)}
    assert eps.get("baselines") == "gastbench_baselines"
    assert registry.get_lifter_spec("videopose3d-t27").source.startswith("gastbench_baselines.")


def test_layouts_are_consistent() -> None:
    for layout in (H36M_17, H36M_16, HUMANEVA_15):
        perm = layout.flip_permutation
        assert sorted(perm) == list(range(layout.num_joints))
        assert all(perm[perm[j]] == j for j in range(layout.num_joints))  # an involution
        for left, right in layout.symmetric_pairs:
            assert layout.joint_names[left].replace("left", "right") == layout.joint_names[right]
    assert H36M_16.indices_in(H36M_17) == (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16)
    with pytest.raises(ConfigError, match="lacks joints"):
        H36M_17.indices_in(H36M_16)
    assert get_layout("h36m") is H36M_17

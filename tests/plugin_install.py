"""Make an example plugin package visible as if pip had installed it, offline and without building.

An installed distribution is, to :mod:`importlib.metadata`, a ``*.dist-info`` folder on
``sys.path`` holding ``METADATA`` and ``entry_points.txt``. Writing those from the package's own
``pyproject.toml`` tests the entry points it declares without pip, a wheel builder or a network
(this project's CI machines have none of the three reliably).
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["EXAMPLE", "install_like_pip", "installed_example"]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "gastbench-tmlp"


def install_like_pip(project: Path, site: Path) -> list[str]:
    """Copy ``project``'s packages into ``site`` and write their dist-info; return the package names."""
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    name, version = meta["project"]["name"], meta["project"]["version"]
    packages = [p for p in meta["tool"]["setuptools"]["packages"] if "." not in p]
    site.mkdir(parents=True, exist_ok=True)
    for package in packages:
        shutil.copytree(project / package, site / package, ignore=shutil.ignore_patterns("__pycache__"))
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    groups = meta["project"].get("entry-points", {})
    text = "".join(
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in eps.items()) + "\n"
        for group, eps in groups.items()
    )
    (info / "entry_points.txt").write_text(text, encoding="utf-8")
    return packages


@contextmanager
def installed_example(site: Path, project: Path = EXAMPLE) -> Iterator[Path]:
    """``project`` installed into ``site`` and its plugins loaded; registry and recipes restored afterwards."""
    from gastbench import registry

    packages = install_like_pip(project, site)
    with registry.registry_restored():
        sys.path.insert(0, str(site))
        try:
            registry.load_plugins(force=True)
            yield site
        finally:
            sys.path.remove(str(site))
            for name in [m for m in sys.modules if m.split(".")[0] in packages]:
                del sys.modules[name]

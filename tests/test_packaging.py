"""What a wheel ships and where records say they came from: the package list, its data, the revision rule."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

from gastbench import revision

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_package_folder_is_in_the_wheel() -> None:
    listed = set(PROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "gastbench").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert {"gastbench_baselines", "gastbench_zoo"} <= listed


def test_every_data_file_the_library_reads_is_package_data() -> None:
    patterns = PROJECT["tool"]["setuptools"]["package-data"]
    data = [
        p for p in (ROOT / "gastbench").rglob("*") if p.is_file() and p.suffix in (".json", ".css", ".js", ".typed")
    ]
    missing = [
        str(p.relative_to(ROOT))
        for p in data
        if not any(p.relative_to(ROOT / "gastbench").match(pat) for pat in patterns["gastbench"])
    ]
    assert not missing, f"not package data: {missing}"
    zoo = [p for p in (ROOT / "zoo").rglob("*") if p.is_file() and p.suffix in (".toml", ".json")]
    assert zoo and all(any(p.relative_to(ROOT / "zoo").match(pat) for pat in patterns["gastbench_zoo"]) for p in zoo)


def test_the_zoo_is_found_through_its_entry_point() -> None:
    from gastbench.cards import load_cards, zoo_dirs

    assert PROJECT["project"]["entry-points"]["gastbench.zoo"] == {"gastbench": "gastbench_zoo"}
    assert any(d.resolve() == (ROOT / "zoo").resolve() for d in zoo_dirs())
    assert len(load_cards()) == len(list((ROOT / "zoo").glob("*.toml")))


def test_metadata_is_true() -> None:
    assert PROJECT["project"]["requires-python"] == ">=3.11"  # tomllib is 3.11+
    assert PROJECT["project"]["license"] == "MIT" and (ROOT / "LICENSE").is_file()
    assert any(r.startswith("setuptools>=77") for r in PROJECT["build-system"]["requires"])  # SPDX licence strings
    for requirement in PROJECT["project"]["dependencies"]:
        assert "==" not in requirement, f"{requirement}: a dependency is a range, not one version"


def _git_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    for args in (
        ["init", "-q"],
        ["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"],
    ):
        subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True)
    return path


def test_a_checkout_of_another_project_gives_no_revision(tmp_path: Path) -> None:
    other = _git_repo(tmp_path / "thesis")
    venv_site = other / "venv" / "lib" / "site-packages"  # an installed gastbench inside someone's repository
    venv_site.mkdir(parents=True)
    assert revision._checkout_revision(venv_site) == ""
    (other / "pyproject.toml").write_text('[project]\nname = "thesis"\n')
    assert revision._checkout_revision(other) == ""


def test_gastbench_checkout_gives_its_commit(tmp_path: Path) -> None:
    repo = _git_repo(tmp_path / "gastbench")
    (repo / "pyproject.toml").write_text('[project]\nname = "gastbench"\n')
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert revision._checkout_revision(repo) == head
    nested = repo / "sub"
    nested.mkdir()
    (nested / "pyproject.toml").write_text('[project]\nname = "gastbench"\n')
    assert revision._checkout_revision(nested) == ""  # not the repository's top level: not this checkout


def test_a_wheel_reports_the_commit_it_was_built_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(revision, "_checkout_revision", lambda root: "")
    revision.code_revision.cache_clear()
    try:
        built = ROOT / "gastbench" / "_build_commit.txt"
        if built.exists():
            pytest.skip("a _build_commit.txt is present in this checkout")
        assert revision.code_revision() == ""
        built.write_text("a" * 40 + "\n")
        revision.code_revision.cache_clear()
        assert revision.code_revision() == "a" * 40
    finally:
        (ROOT / "gastbench" / "_build_commit.txt").unlink(missing_ok=True)
        revision.code_revision.cache_clear()

"""The package's shape: layered imports without a circle, and rooms of a readable size.

Imports are read from the source with ``ast``, every kind of them: function-level imports (a
lazy import inside a function cannot hide a dependency on a higher layer), imports under
``TYPE_CHECKING`` (a type-only cycle is still a cycle in the design), modules named by string
(``importlib.import_module("gastbench.models")``, registry pointers) and names taken from the
package root (``from gastbench import load_dataset`` is an import of ``gastbench.data``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gastbench"
MAX_LINES = 400

#: Lowest first; a module may import its own layer and the ones below, never one above.
LAYERS: list[set[str]] = [
    {
        "errors",
        "hashing",
        "model_id",
        "progress",
        "outputs",
        "revision",
        "safe_pickle",
        "run_folder",
        "process_state",
        "cpu_gemm",
        "typecheck",
    },
    {"skeleton", "metrics", "metrics_pck", "results"},
    {"data", "keypoints", "recipes"},
    {"lifter", "fastpath", "flop_count"},
    {"registry", "models"},
    {"checkpoint"},
    {"cards"},
    {"hub"},
    {"pretrained"},
    {"evaluation", "training"},
    {"tables_pck"},
    {
        "tables",
        "leaderboard",
        "conformance",
        "conformance_behaviour",
        "conformance_clips",
        "convert",
        "infer",
        "people",
        "streaming",
        "viz",
        "export",
    },
    {"site"},
    {"cli"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


_MODULE_STRING = re.compile(r"gastbench(\.[a-z_][a-z0-9_]*)+")


def _root_exports() -> dict[str, str]:
    """Name -> module of what the package root re-exports lazily (its ``_LAZY`` table)."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_LAZY" for t in node.targets):
            table = ast.literal_eval(node.value)
            return {name: f"gastbench.{module}" for name, module in table.items()}
    return {}


def _is_module(name: str) -> bool:
    path = PACKAGE.parent / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> list[tuple[str, bool]]:
    """``(imported gastbench module, runtime?)`` for every import in the file, at any depth."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            type_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        runtime = id(node) not in type_only
        if isinstance(node, ast.Import):
            found += [(a.name, runtime) for a in node.names if a.name.startswith("gastbench")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("gastbench"):
                continue
            found.append((target, runtime))
            for alias in node.names:  # ``from . import evaluate`` imports a submodule
                candidate = f"{target}.{alias.name}"
                if _is_module(candidate):
                    found.append((candidate, runtime))
                elif target == "gastbench" and alias.name in ROOT_EXPORTS:  # a lazy re-export of the root
                    found.append((ROOT_EXPORTS[alias.name], runtime))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # a module named by string: importlib.import_module("gastbench.x"), "gastbench.x:attr" pointers
            named = node.value.split(":", 1)[0]
            own = module == named or module.startswith(named + ".")  # its own package, e.g. for package data
            if _MODULE_STRING.fullmatch(named) and _is_module(named) and not own:
                found.append((named, runtime))
    return found


ROOT_EXPORTS = _root_exports()


def _graph() -> dict[str, list[tuple[str, bool]]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_has_a_layer() -> None:
    tops = {_top(m) for m in _graph()} - {""}
    assert tops <= set(RANK), f"add these modules to LAYERS: {sorted(tops - set(RANK))}"


def test_no_lower_layer_imports_a_higher_one() -> None:
    upward = [
        f"{source} -> {target}"
        for source, targets in _graph().items()
        if _top(source)
        for target, _ in targets
        if _top(target) and RANK[_top(target)] > RANK[_top(source)]
    ]
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_no_import_cycle() -> None:
    """Runtime and type-only imports alike: two modules that need each other's names are one room."""
    graph = {m: sorted({t for t, _ in targets if t != m}) for m, targets in _graph().items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if nxt == "gastbench" or nxt not in graph:
                continue  # the package root only re-exports lazily (its names are resolved to their modules)
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for module in graph:
        if module not in state and (cycle := visit(module)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_no_module_over_the_size_limit() -> None:
    roots = [PACKAGE, PACKAGE.parent / "baselines"]
    big = {
        str(p.relative_to(PACKAGE.parent)): n
        for root in roots
        for p in root.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not big, f"modules over {MAX_LINES} lines: {big}"

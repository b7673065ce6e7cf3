"""The package's layers import one way: a module imports only from layers above it.

ARCHITECTURE.md describes the layers; this test reads every module's imports (also
those inside functions and under TYPE_CHECKING) and fails on one that runs back up,
or on any import cycle between modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "workshop"

#: The layers, first the lowest: a module may import its own layer and those before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("workshop.secrets", "workshop.errors", "workshop.progress"),
    ("workshop.settings",),
    ("workshop.images",),
    ("workshop.lab",),
    ("workshop.doctor",),
    ("workshop.remote",),
    ("workshop.swarm",),
    ("workshop.steps",),
    ("workshop.checks", "workshop.dashboard", "workshop.faults"),
    ("workshop.facade",),
    (
        "workshop.cli",
        "workshop.cli_grade",
        "workshop.cli_snapshot",
        "workshop.bench",
        "workshop.dashboard.bench",
        "workshop.grading",
    ),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "workshop" or name.startswith("workshop.")}


def _layer(module: str) -> int | None:
    """The index of the most specific layer prefix that names the module."""
    best: tuple[int, int] | None = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            named = module == prefix or module.startswith(prefix + ".")
            if named and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    return best[0] if best else None


GRAPH = {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in GRAPH if m != "workshop" and _layer(m) is None]
    assert not unplaced, f"give these modules a layer in LAYERS and ARCHITECTURE.md: {unplaced}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m != "workshop"))
def test_imports_run_one_way(module: str) -> None:
    here = _layer(module)
    assert here is not None
    upward = [
        f"{target} (layer {_layer(target)})"
        for target in sorted(GRAPH[module])
        if target == "workshop" or (_layer(target) or 0) > here
    ]
    assert not upward, f"{module} (layer {here}) imports from a layer below it: {upward}"


def _cycle() -> list[str] | None:
    """One import cycle between modules (packages count as their __init__), if any."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        stack.append(module)
        for target in sorted(GRAPH.get(module, ())):
            if target not in GRAPH:
                continue
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[module] = 2
        return None

    for module in sorted(GRAPH):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_no_import_cycle() -> None:
    cycle = _cycle()
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])

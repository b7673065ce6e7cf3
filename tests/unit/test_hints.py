"""Every check's hint names the command first (docker, gluster, nft...), the kit helper after."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CHECKS = Path(__file__).resolve().parents[2] / "workshop" / "checks"


def _hints() -> list[tuple[str, str]]:
    """(where, text) of every hint written as a literal in the checks' code.

    The text is the literal's opening: the constant start of an f-string or of a
    concatenation, which is what a learner reads first.
    """
    found = []
    for path in sorted(CHECKS.glob("*.py")):
        if path.name == "result.py":  # renders hints, writes none
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            value: ast.expr | None = None
            if isinstance(node, ast.keyword | ast.Assign) and _names_hint(node):
                value = node.value
            elif isinstance(node, ast.Return) and node.value is not None:
                value = node.value if _in_hint_function(tree, node) else None
            text = _opening(value) if value is not None else None
            if text is not None:
                found.append((f"{path.name}:{node.lineno}", text))
    return found


def _names_hint(node: ast.keyword | ast.Assign) -> bool:
    if isinstance(node, ast.keyword):
        return node.arg == "hint"
    return any(isinstance(t, ast.Name) and t.id == "hint" for t in node.targets)


def _in_hint_function(tree: ast.Module, ret: ast.Return) -> bool:
    return any(
        isinstance(f, ast.FunctionDef) and f.name.endswith("_hint") and ret in ast.walk(f)
        for f in tree.body
    )


def _opening(value: ast.expr) -> str | None:
    """The constant text a string expression starts with (None: not a literal)."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    if isinstance(value, ast.JoinedStr) and value.values:
        return _opening(value.values[0]) if isinstance(value.values[0], ast.Constant) else ""
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
        return _opening(value.left)
    return None


HINTS = [(where, text) for where, text in _hints() if text]


def test_the_hints_are_found() -> None:
    assert len(HINTS) >= 25  # the checks have about thirty written hints


@pytest.mark.parametrize(("where", "text"), HINTS, ids=[w for w, _ in HINTS])
def test_a_hint_starts_with_a_command(where: str, text: str) -> None:
    assert text.startswith("`"), f"{where}: name the command first: {text!r}"

"""Committed notebooks are clean: no outputs, a kernelspec, short cells, the usual start.

Outputs are never committed (they are volatile and may hold what a lab printed);
a kernelspec keeps JupyterLab from asking which kernel to use; short cells keep the
chapters about the workshop, not about code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted([*(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "labs").rglob("*.ipynb")])
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
#: Longest code cell allowed (DESIGN: "cells of at most ~8 lines").
MAX_LINES = 12
#: A swarm join token or unlock key, as docker prints them.
SECRET = re.compile(r"SWM(TKN|KEY)-1-[0-9A-Za-z+/=]{10,}")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(notebook: dict) -> list[dict]:
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def _source(cell: dict) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def test_there_are_chapters() -> None:
    assert len(CHAPTERS) >= 6, "notebooks/00-… to 05-… are missing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_outputs_and_no_execution_counts(path: Path) -> None:
    dirty = [
        index
        for index, cell in enumerate(_load(path)["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} have outputs or execution counts; strip them "
        "(`jupyter nbconvert --clear-output --inplace` or nbstripout) before committing"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_kernelspec_and_language_info(path: Path) -> None:
    metadata = _load(path)["metadata"]
    kernelspec = metadata.get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"{path.name}: kernelspec name must be python3"
    assert kernelspec.get("display_name") == "Python 3 (ipykernel)"
    assert metadata.get("language_info", {}).get("name") == "python"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_code_cells_are_short(path: Path) -> None:
    long = {
        index: len(_source(cell).strip().splitlines())
        for index, cell in enumerate(_load(path)["cells"])
        if cell["cell_type"] == "code" and len(_source(cell).strip().splitlines()) > MAX_LINES
    }
    assert not long, f"{path.name}: cells longer than {MAX_LINES} lines (index: lines): {long}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_secrets_in_notebook_text(path: Path) -> None:
    assert not SECRET.search(path.read_text(encoding="utf-8")), f"{path.name} holds a token"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_starts_by_connecting_and_requiring_a_state(path: Path) -> None:
    cells = _code_cells(_load(path))
    assert cells, f"{path.name} has no code cell"
    first = _source(cells[0])
    assert "Lab.connect()" in first and "lab.require(" in first, (
        f"{path.name}: the first code cell must call Lab.connect() and lab.require(<state>)"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_ends_with_a_check_that_raises(path: Path) -> None:
    sources = [_source(cell) for cell in _code_cells(_load(path))]
    assert any(".assert_passed()" in source for source in sources[-3:]), (
        f"{path.name}: end the chapter with a check cell (checks.xxx(lab).assert_passed())"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_imports_only_the_public_api(path: Path) -> None:
    for source in (_source(cell) for cell in _code_cells(_load(path))):
        for line in source.splitlines():
            if re.match(r"\s*(from|import)\s+workshop\b", line):
                assert re.match(r"\s*from workshop import [\w, ]+$", line), (
                    f"{path.name}: import the public API (`from workshop import ...`), not {line!r}"
                )

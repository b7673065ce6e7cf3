"""pyproject.toml and environment.yml must list the same dependencies."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - pytest brings tomli on Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]

#: conda-forge package name -> PyPI name, where they differ.
CONDA_TO_PYPI = {"docker-py": "docker"}
#: conda packages that are the environment itself, not dependencies of the kit.
CONDA_ONLY = {"python", "pip"}


def normalize(name: str) -> str:
    """PEP 503 normalized name (``types-PyYAML`` -> ``types-pyyaml``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    """Name part of a pip or conda spec: ``conda-forge::mypy >=1`` -> ``mypy``."""
    spec = spec.split("::")[-1].strip()
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec)
    assert match, f"cannot read a package name from {spec!r}"
    return normalize(match.group(0))


def pyproject_dependencies(text: str) -> set[str]:
    project = tomllib.loads(text)["project"]
    specs = list(project["dependencies"]) + list(project["optional-dependencies"]["test"])
    return {requirement_name(spec) for spec in specs}


def conda_dependencies(text: str) -> set[str]:
    names = set()
    for item in yaml.safe_load(text)["dependencies"]:
        if isinstance(item, str):
            name = requirement_name(item)
            if name not in CONDA_ONLY:
                names.add(normalize(CONDA_TO_PYPI.get(name, name)))
    return names


def differences(pyproject: set[str], conda: set[str]) -> list[str]:
    """Human-readable list of what one file has and the other lacks."""
    return [f"only in pyproject.toml: {name}" for name in sorted(pyproject - conda)] + [
        f"only in environment.yml: {name}" for name in sorted(conda - pyproject)
    ]


@pytest.fixture(scope="module")
def pyproject_text() -> str:
    return (ROOT / "pyproject.toml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def environment_text() -> str:
    return (ROOT / "environment.yml").read_text(encoding="utf-8")


def test_same_runtime_and_test_dependencies(pyproject_text, environment_text):
    pyproject = pyproject_dependencies(pyproject_text)
    conda = conda_dependencies(environment_text)
    assert differences(pyproject, conda) == []


def test_known_dependencies_are_present(pyproject_text):
    names = pyproject_dependencies(pyproject_text)
    assert {"jupyterlab", "ipywidgets", "docker", "fabric", "matplotlib", "pyyaml"} <= names
    assert {"pytest", "nbval", "pytest-timeout", "playwright", "ruff", "mypy"} <= names


def test_environment_installs_the_kit_itself(environment_text):
    env = yaml.safe_load(environment_text)
    assert env["name"] == "swarm-workshop"
    assert env["channels"] == ["conda-forge"]
    pip_sections = [item["pip"] for item in env["dependencies"] if isinstance(item, dict)]
    assert pip_sections == [["-e ."]]


def test_a_dependency_added_to_one_file_only_is_caught(pyproject_text, environment_text):
    extra_pip = pyproject_text.replace('"pyyaml",', '"pyyaml",\n    "requests",', 1)
    extra_conda = environment_text.replace("  - pyyaml\n", "  - pyyaml\n  - rich\n", 1)
    assert differences(pyproject_dependencies(extra_pip), conda_dependencies(environment_text)) == [
        "only in pyproject.toml: requests"
    ]
    assert differences(pyproject_dependencies(pyproject_text), conda_dependencies(extra_conda)) == [
        "only in environment.yml: rich"
    ]


def test_conda_names_are_mapped():
    text = "dependencies:\n  - python=3.12\n  - docker-py >=7\n  - types-pyyaml\n"
    conda = conda_dependencies(text)
    assert conda == {"docker", "types-pyyaml"}
    assert requirement_name("types-PyYAML>=6") == "types-pyyaml"

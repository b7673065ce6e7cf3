"""The Vagrantfile: valid for every provider, and building what the Python settings resolve.

These run `vagrant` but create nothing (no lab needed). The Vagrantfile asks
`python -m workshop.settings --json`; WORKSHOP_PYTHON makes it use the Python that
runs the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workshop.errors import UsageError
from workshop.lab.vagrant_parse import parse_status
from workshop.settings import ENV_VARS, LabSettings

ROOT = Path(__file__).resolve().parents[2]


def base_env() -> dict[str, str]:
    """This process's environment without lab settings or a provider chosen for Vagrant."""
    dropped = {*ENV_VARS.values(), "VAGRANT_DEFAULT_PROVIDER", "VAGRANT_DOTFILE_PATH"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(VAGRANT_CHECKPOINT_DISABLE="1", WORKSHOP_PYTHON=sys.executable)
    return env


def vagrant(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        **base_env(),
        "WORKSHOP_LAB": "vfcheck",
        "VAGRANT_DOTFILE_PATH": str(ROOT / ".workshop" / "vagrant" / "vfcheck"),
        **env,
    }
    return subprocess.run(
        ["vagrant", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("provider", ["docker", "virtualbox", "libvirt"])
def test_validate_passes_for_every_provider(provider: str) -> None:
    # A hypervisor that is not installed here cannot check its own block: Vagrant then
    # validates everything else (machines, networks, SSH, provisioners).
    args = ["validate"] if provider == "docker" else ["validate", "--ignore-provider"]
    result = vagrant(*args, WORKSHOP_PROVIDER=provider)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validated successfully" in result.stdout


def test_machines_match_the_python_settings() -> None:
    env = {"WORKSHOP_NODES": "5", "WORKSHOP_MANAGERS": "3", "WORKSHOP_PROVIDER": "docker"}
    result = vagrant("status", "--machine-readable", **env)
    assert result.returncode == 0, result.stderr
    machines = parse_status(result.stdout)
    settings = LabSettings.load(ROOT, {**env, "WORKSHOP_LAB": "vfcheck"})
    assert list(machines) == settings.node_names == [f"node-{i}" for i in range(1, 6)]
    assert all(m.state == "not_created" for m in machines.values())


def test_a_python_that_cannot_answer_is_named() -> None:
    result = vagrant("validate", WORKSHOP_PYTHON=str(ROOT / "no-such-python"))
    assert result.returncode != 0
    assert "no-such-python -m workshop.settings` failed" in result.stderr
    assert "Set WORKSHOP_PYTHON" in result.stderr


# Inputs both sides read: a workshop.yml (None: no file) and WORKSHOP_* variables.
SAME_INPUTS = [
    pytest.param(None, {}, id="defaults"),
    pytest.param(None, {"WORKSHOP_NODES": "5", "WORKSHOP_MANAGERS": "3"}, id="five-nodes"),
    pytest.param(
        None,
        {"WORKSHOP_NODES": "1", "WORKSHOP_MANAGERS": "1", "WORKSHOP_CPUS": "64"},
        id="bounds",
    ),
    pytest.param("nodes: 4\nmanagers: 1\n", {"WORKSHOP_NODES": "2"}, id="env-over-file"),
    pytest.param(None, {"WORKSHOP_CPUS": "9999"}, id="cpus-9999"),
    pytest.param(None, {"WORKSHOP_NODES": "0"}, id="no-nodes"),
    pytest.param(None, {"WORKSHOP_NODES": "0x3"}, id="hex-nodes"),
    pytest.param(None, {"WORKSHOP_MANAGERS": "4"}, id="too-many-managers"),
    pytest.param(None, {"WORKSHOP_SUBNET": "10.1"}, id="short-subnet"),
    pytest.param(None, {"WORKSHOP_SUBNET": "192.168.056"}, id="leading-zero-subnet"),
    pytest.param(None, {"WORKSHOP_PROVIDER": "vbox"}, id="unknown-provider"),
    pytest.param("cpus: 9999\n", {}, id="file-cpus-9999"),
    pytest.param("nodse: 3\n", {}, id="file-unknown-key"),
]


@pytest.mark.parametrize(("yml", "env"), SAME_INPUTS)
def test_vagrant_and_python_agree(tmp_path: Path, yml: str | None, env: dict[str, str]) -> None:
    # A copy of the Vagrantfile in a folder of its own, so it reads its own workshop.yml
    # (and keeps its own SSH key and Vagrant state); the package comes from PYTHONPATH.
    shutil.copy(ROOT / "Vagrantfile", tmp_path / "Vagrantfile")
    if yml is not None:
        (tmp_path / "workshop.yml").write_text(yml)
    env = {"WORKSHOP_LAB": "vfcheck", **env}
    result = subprocess.run(
        ["vagrant", "status", "--machine-readable"],
        cwd=tmp_path,
        env={**base_env(), "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        settings = LabSettings.load(tmp_path, env)
    except UsageError as refused:
        assert result.returncode != 0, result.stdout
        assert f"Vagrantfile: {refused}\n" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    machines = parse_status(result.stdout)
    assert list(machines) == settings.node_names
    assert {m.provider for m in machines.values()} == {settings.resolved_provider()}

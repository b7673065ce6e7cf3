"""The Vagrantfile: valid for every provider, and agreeing with the Python settings.

These run `vagrant` but create nothing (no lab needed).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from workshop.lab.vagrant_parse import parse_status
from workshop.settings import LabSettings

ROOT = Path(__file__).resolve().parents[2]


def vagrant(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "VAGRANT_CHECKPOINT_DISABLE": "1",
        "WORKSHOP_LAB": "vfcheck",
        "VAGRANT_DOTFILE_PATH": str(ROOT / ".workshop" / "vagrant" / "vfcheck"),
        **env,
    }
    return subprocess.run(
        ["vagrant", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
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


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"WORKSHOP_NODES": "zero"}, ["WORKSHOP_NODES", "whole number"]),
        ({"WORKSHOP_MANAGERS": "4"}, ["WORKSHOP_MANAGERS", "1 to 3"]),
        ({"WORKSHOP_SUBNET": "10.1"}, ["WORKSHOP_SUBNET", "three octets"]),
        ({"WORKSHOP_PROVIDER": "vbox"}, ["vbox", "docker, virtualbox or libvirt"]),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(
    env: dict[str, str], words: list[str]
) -> None:
    result = vagrant("validate", **env)
    assert result.returncode != 0
    for word in words:
        assert word in result.stdout + result.stderr

"""install_docker leaves running engines alone, from answers recorded on a real lab."""

from __future__ import annotations

import pytest

from tests.unit.fakes import recorded_lab, recording
from workshop.errors import UsageError
from workshop.steps.docker import docker_versions, install_docker


def test_running_engines_are_left_alone() -> None:
    lab, remote = recorded_lab(recording("docker-running"))
    assert docker_versions(lab) == {n: "20.10.24+dfsg1" for n in lab.names}
    result = install_docker(lab)
    assert not result.changed and remote.unrecorded == []
    assert result["node-2"].detail == "Docker 20.10.24+dfsg1 already running"


def test_nodes_without_docker_get_it_installed_and_enabled() -> None:
    lab, remote = recorded_lab(recording("docker-absent"))
    assert docker_versions(lab) == {n: "" for n in lab.names}
    result = install_docker(lab)
    assert remote.changes(r"apt-get .* install --no-install-recommends docker\.io") == lab.names
    assert remote.changes(r"systemctl enable --now docker\.service") == lab.names
    assert result.changed_nodes == lab.names


def test_only_the_node_without_docker_is_installed() -> None:
    absent_on_3 = [a for a in recording("docker-absent") if a["node"] == "node-3"]
    lab, remote = recorded_lab(recording("docker-running"), absent_on_3)
    result = install_docker(lab)
    assert remote.changes("apt-get") == ["node-3"]
    assert result.changed_nodes == ["node-3"]
    assert not result["node-1"].changed


def test_an_unknown_source_is_refused_before_anything_runs() -> None:
    lab, remote = recorded_lab(recording("docker-running"))
    with pytest.raises(UsageError, match="debian, docker-ce"):
        install_docker(lab, source="snap")
    assert remote.commands == []

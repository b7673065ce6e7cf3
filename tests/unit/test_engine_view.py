"""Machine states and SSH endpoints read from ``docker inspect`` of node containers.

``tests/data/engine/node-running.json`` is a running lab node (``docker inspect``,
trimmed to the fields the kit reads); ``node-created.json`` a node container that
was created and never started. The engine's answer must be the one ``vagrant
status`` gives (``tests/data/vagrant``), since the kit uses either.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from workshop.lab.engine_view import machine_status, ssh_endpoint
from workshop.lab.node import SSHEndpoint
from workshop.lab.vagrant_parse import parse_status

DATA = Path(__file__).resolve().parents[1] / "data" / "engine"
VAGRANT = Path(__file__).resolve().parents[1] / "data" / "vagrant"
KNOWN = SSHEndpoint("10.0.0.9", 2222, "vagrant", ("/lab/.workshop/ssh/id_ed25519",))


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


def test_running_container_is_a_running_machine() -> None:
    status = machine_status("node-1", recorded("node-running.json"))
    assert (status.name, status.state, status.running, status.created) == (
        "node-1",
        "running",
        True,
        True,
    )


def test_created_container_is_a_stopped_machine() -> None:
    status = machine_status("node-2", recorded("node-created.json"))
    assert (status.state, status.running, status.created) == ("stopped", False, True)


def test_no_container_is_not_created() -> None:
    status = machine_status("node-3", None)
    assert (status.state, status.created) == ("not_created", False)


@pytest.mark.parametrize(
    ("inspected", "status_recording", "name"),
    [
        ("node-running.json", "status.txt", "node-1"),
        ("node-created.json", "status-draft.txt", "node-3"),
        (None, "status-not-created-draft.txt", "node-2"),
    ],
)
def test_engine_says_what_vagrant_status_says(
    inspected: str | None, status_recording: str, name: str
) -> None:
    vagrant = parse_status((VAGRANT / status_recording).read_text())[name]
    engine = machine_status(name, recorded(inspected) if inspected else None)
    assert engine == dataclasses.replace(vagrant, description="")


def test_endpoint_is_the_published_ssh_port_with_the_known_user_and_key() -> None:
    container = recorded("node-running.json")
    published = container["NetworkSettings"]["Ports"]["22/tcp"][0]
    endpoint = ssh_endpoint(container, KNOWN)
    assert endpoint == SSHEndpoint(
        published["HostIp"], int(published["HostPort"]), "vagrant", KNOWN.identity_files
    )


def test_endpoint_without_a_published_port_is_the_bridge_address() -> None:
    container = copy.deepcopy(recorded("node-running.json"))
    container["NetworkSettings"]["Ports"] = {}
    endpoint = ssh_endpoint(container, KNOWN)
    assert endpoint is not None
    assert (endpoint.host, endpoint.port) == (container["NetworkSettings"]["IPAddress"], 22)


def test_no_endpoint_for_a_container_without_port_or_address() -> None:
    assert ssh_endpoint(recorded("node-created.json"), KNOWN) is None

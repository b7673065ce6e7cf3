"""Machine states and SSH endpoints of docker-provider machines, read from the engine.

``vagrant status`` and ``vagrant ssh-config`` each start Ruby and take every
machine's lock, which costs seconds, and more on a busy host. For the docker
provider both answers come from the engine: Vagrant keeps each machine's container
id in ``<dotfile dir>/machines/<name>/docker/id`` and derives the state and the
SSH endpoint from ``docker inspect`` of that container. These functions apply the
same rules to the inspect data, so the kit can skip Vagrant when only reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from workshop.lab.node import SSHEndpoint
from workshop.lab.vagrant_parse import MachineStatus

__all__ = ["machine_status", "ssh_endpoint"]


def machine_status(name: str, container: Mapping[str, Any] | None) -> MachineStatus:
    """Vagrant's state for a machine whose container inspects as ``container``.

    ``None`` (no such container) is ``not_created``, a running container is
    ``running``, any other container ``stopped``: the docker provider's rules,
    with the state names ``vagrant status`` prints (its long description aside).
    """
    if container is None:
        state, human = "not_created", "not created"
    elif (container.get("State") or {}).get("Running"):
        state = human = "running"
    else:
        state = human = "stopped"
    return MachineStatus(name=name, state=state, provider="docker", state_human=human)


def ssh_endpoint(
    container: Mapping[str, Any], known: SSHEndpoint, guest_port: int = 22
) -> SSHEndpoint | None:
    """Where SSH reaches a running container, with the user and keys of ``known``.

    As the docker provider does: the host side of the published guest port if it
    is published, else the container's address on Docker's default bridge.
    ``None`` when neither is there (then only Vagrant can say).
    """
    network = container.get("NetworkSettings") or {}
    published = (network.get("Ports") or {}).get(f"{guest_port}/tcp")
    if published:
        first = published[0]
        host, port = first.get("HostIp") or "", first.get("HostPort") or ""
    else:
        host, port = network.get("IPAddress") or "", str(guest_port)
    if not host or not str(port).isdigit():
        return None
    return replace(known, host=host, port=int(port))

"""How a node container is made again: its `docker create` request, read from `docker inspect`.

A restored node must be the container Vagrant made, on another image: the same
name, hostname, command, labels, mounts and volumes, capabilities and security
options, devices, cgroup settings, tmpfs, published SSH port, and the same lab
address and aliases. :func:`container_spec` reads all of that from the container's
``docker inspect`` answer, as the engine's create request takes it (the inspect
answer's ``Config`` and ``HostConfig`` are the request's own fields), and names the
networks the container is attached to after it is created.

The spec is kept with the snapshot (:meth:`ContainerSpec.to_json`), so that a node
whose container is gone can be restored too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ContainerSpec", "NetworkAttachment", "container_spec"]

#: ``Config`` fields that belong to the created container, not to the request.
_NOT_REQUESTED = ("Image",)
#: Network modes whose network the container gets at creation (Docker's default bridge).
_CREATED_ON = ("default", "bridge")


@dataclass(frozen=True)
class NetworkAttachment:
    """One network a node is attached to after it is created.

    Attributes:
        network: The network's name (Vagrant's ``vagrant_network_<subnet>``).
        address: The node's fixed IPv4 address there ("" for one the engine picks).
        aliases: Names the node answers to there (its hostname), without the old
            container's short id, which the engine adds for the new one itself.
    """

    network: str
    address: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContainerSpec:
    """A node container's create request (without the image) and its networks.

    Attributes:
        name: The container's name.
        body: The engine's create request: ``Config`` fields plus ``HostConfig``.
        networks: Networks to attach before it starts (the lab network).
    """

    name: str
    body: dict[str, Any]
    networks: tuple[NetworkAttachment, ...] = field(default=())

    def request(self, image: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The create request for a container of ``image``, with ``labels`` added."""
        body: dict[str, Any] = json.loads(json.dumps(self.body))  # a deep copy of plain JSON
        body["Image"] = image
        if labels:
            body["Labels"] = {**(body.get("Labels") or {}), **labels}
        return body

    def to_json(self) -> str:
        """The spec as one JSON text (kept as a label of the snapshot's image)."""
        networks = [
            {"network": n.network, "address": n.address, "aliases": list(n.aliases)}
            for n in self.networks
        ]
        return json.dumps(
            {"name": self.name, "body": self.body, "networks": networks}, sort_keys=True
        )

    @classmethod
    def from_json(cls, text: str) -> ContainerSpec:
        """The spec that :meth:`to_json` wrote.

        Raises:
            ValueError: The text is not such a spec.
        """
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("body"), dict):
            raise ValueError("not a container spec")
        networks = tuple(
            NetworkAttachment(str(n["network"]), str(n["address"]), tuple(n["aliases"]))
            for n in data.get("networks") or []
        )
        return cls(name=str(data["name"]), body=data["body"], networks=networks)


def _attachments(inspect: Mapping[str, Any], mode: str) -> tuple[NetworkAttachment, ...]:
    short_id = str(inspect.get("Id", ""))[:12]
    networks = (inspect.get("NetworkSettings") or {}).get("Networks") or {}
    found = []
    for name, endpoint in sorted(networks.items()):
        if name == mode or (mode in _CREATED_ON and name == "bridge"):
            continue  # the network the container is created on
        endpoint = endpoint or {}
        fixed = (endpoint.get("IPAMConfig") or {}).get("IPv4Address") or ""
        aliases = tuple(a for a in endpoint.get("Aliases") or () if a and a != short_id)
        found.append(NetworkAttachment(name, fixed, aliases))
    return tuple(found)


def container_spec(inspect: Mapping[str, Any]) -> ContainerSpec:
    """The spec that makes the container of this ``docker inspect`` answer again.

    Args:
        inspect: One container's ``docker container inspect`` answer.

    Raises:
        ValueError: The answer lacks ``Name``, ``Config`` or ``HostConfig``.
    """
    config = inspect.get("Config")
    host_config = inspect.get("HostConfig")
    name = str(inspect.get("Name") or "").lstrip("/")
    if not isinstance(config, Mapping) or not isinstance(host_config, Mapping) or not name:
        raise ValueError("a container's inspect answer needs Name, Config and HostConfig")
    body = {key: value for key, value in config.items() if key not in _NOT_REQUESTED}
    body["HostConfig"] = dict(host_config)
    mode = str(host_config.get("NetworkMode") or "default")
    return ContainerSpec(name=name, body=body, networks=_attachments(inspect, mode))

"""The docker provider's runtime view: what of a lab exists, found by label.

Node containers, their volumes and the lab network carry ``workshop.lab=<name>``.
The Docker engine is the source of truth: leftovers of an interrupted run are found
and removed by that label, with no state file to go stale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import docker
import docker.errors

from workshop.errors import ProviderError

__all__ = ["LAB_LABEL", "LabObjects", "lab_objects", "remove_lab_objects"]

LAB_LABEL = "workshop.lab"
SERVICE_LABEL = "workshop.service"


@dataclass(frozen=True)
class LabObjects:
    """Names of a lab's containers, volumes and networks on this engine."""

    containers: tuple[str, ...]
    volumes: tuple[str, ...]
    networks: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.containers or self.volumes or self.networks)

    def __str__(self) -> str:
        parts = [
            f"{len(items)} {kind}: {', '.join(items)}"
            for kind, items in (
                ("containers", self.containers),
                ("volumes", self.volumes),
                ("networks", self.networks),
            )
            if items
        ]
        return "; ".join(parts) or "nothing"


def _client() -> docker.DockerClient:
    try:
        return docker.from_env(timeout=60)
    except docker.errors.DockerException as exc:
        raise ProviderError(
            "docker info", None, str(exc), hint="Start a Docker engine: `scripts/engine.sh start`."
        ) from exc


def lab_objects(lab: str) -> LabObjects:
    """Every container, volume and network labelled as part of `lab`."""
    client = _client()
    selector = {"label": f"{LAB_LABEL}={lab}"}
    return LabObjects(
        containers=tuple(
            sorted(c.name for c in client.containers.list(all=True, filters=selector))
        ),
        volumes=tuple(sorted(v.name for v in client.volumes.list(filters=selector))),
        networks=tuple(sorted(n.name for n in client.networks.list(filters=selector))),
    )


def container_ids(lab: str) -> dict[str, str]:
    """Container name -> full id for the lab's containers."""
    client = _client()
    selector = {"label": f"{LAB_LABEL}={lab}"}
    return {c.name: c.id for c in client.containers.list(all=True, filters=selector)}


def remove_lab_objects(
    lab: str,
    keep_containers: Iterable[str] = (),
    progress: Callable[[str], None] = lambda _: None,
    *,
    keep_services: bool = False,
) -> LabObjects:
    """Remove the lab's containers (but `keep_containers` ids), then unused volumes and networks.

    With `keep_services`, containers labelled `workshop.service` (the lab's apt cache)
    and their volumes stay too: `up` keeps them, `down` removes everything.

    Returns:
        What was removed.
    """
    client = _client()
    keep = set(keep_containers)
    selector = {"label": f"{LAB_LABEL}={lab}"}
    removed_containers: list[str] = []
    for container in client.containers.list(all=True, filters=selector):
        # Machines Vagrant knows, and the lab's own services (the apt cache) stay.
        if container.id in keep or (keep_services and SERVICE_LABEL in container.labels):
            continue
        progress(f"Removing leftover container {container.name}")
        container.remove(force=True, v=True)
        removed_containers.append(container.name)
    in_use = {
        mount.get("Name")
        for container in client.containers.list(all=True, filters=selector)
        for mount in container.attrs.get("Mounts", [])
    }
    removed_volumes: list[str] = []
    for volume in client.volumes.list(filters=selector):
        if volume.name in in_use:
            continue
        progress(f"Removing volume {volume.name}")
        volume.remove(force=True)
        removed_volumes.append(volume.name)
    removed_networks: list[str] = []
    for network in client.networks.list(filters=selector):
        network.reload()
        if network.attrs.get("Containers"):
            continue
        progress(f"Removing network {network.name}")
        try:
            network.remove()
        except docker.errors.NotFound:
            continue
        removed_networks.append(network.name)
    return LabObjects(tuple(removed_containers), tuple(removed_volumes), tuple(removed_networks))

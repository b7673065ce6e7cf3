"""The docker provider's runtime view: what of a lab exists, found by label.

Node containers, their volumes and the lab network carry ``workshop.lab=<name>``.
The Docker engine is the source of truth: leftovers of an interrupted run are found
and removed by that label, with no state file to go stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass

import docker
import docker.errors

from workshop.images.engine import engine_client, engine_errors
from workshop.progress import Progress, quiet

__all__ = ["LAB_LABEL", "LabObjects", "lab_objects", "remove_lab_objects", "repair_lab_addresses"]

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


def _selector(lab: str) -> dict[str, str]:
    return {"label": f"{LAB_LABEL}={lab}"}


def lab_objects(lab: str) -> LabObjects:
    """Every container, volume and network labelled as part of `lab`."""
    client = engine_client()
    selector = _selector(lab)
    with engine_errors(f"listing the containers, volumes and networks of lab {lab!r}"):
        return LabObjects(
            containers=tuple(
                sorted(c.name for c in client.containers.list(all=True, filters=selector))
            ),
            volumes=tuple(sorted(v.name for v in client.volumes.list(filters=selector))),
            networks=tuple(sorted(n.name for n in client.networks.list(filters=selector))),
        )


def container_ids(lab: str) -> dict[str, str]:
    """Container name -> full id for the lab's containers."""
    client = engine_client()
    with engine_errors(f"listing the containers of lab {lab!r}"):
        containers = client.containers.list(all=True, filters=_selector(lab))
        return {c.name: c.id for c in containers}


def remove_lab_objects(
    lab: str,
    keep_containers: Iterable[str] = (),
    progress: Progress = quiet,
    *,
    keep_services: bool = False,
) -> LabObjects:
    """Remove the lab's containers (but `keep_containers` ids), then unused volumes and networks.

    With `keep_services`, containers labelled `workshop.service` (the lab's apt cache)
    and their volumes stay too: `up` keeps them, `down` removes everything. An object
    that is gone already (another process removed it meanwhile) is not an error.

    Returns:
        What was removed.

    Raises:
        EngineError: The engine does not answer, or refused a removal.
    """
    client = engine_client()
    with engine_errors(f"removing the containers, volumes and networks of lab {lab!r}"):
        containers = _remove_containers(client, lab, set(keep_containers), keep_services, progress)
        volumes = _remove_volumes(client, lab, progress)
        networks = _remove_networks(client, lab, progress)
    return LabObjects(containers, volumes, networks)


def _remove_containers(
    client: docker.DockerClient, lab: str, keep: set[str], keep_services: bool, progress: Progress
) -> tuple[str, ...]:
    removed: list[str] = []
    for container in client.containers.list(all=True, filters=_selector(lab)):
        # Machines Vagrant knows, and the lab's own services (the apt cache) stay.
        if container.id in keep or (keep_services and SERVICE_LABEL in container.labels):
            continue
        progress(f"Removing leftover container {container.name}")
        with suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
            removed.append(container.name)
    return tuple(removed)


def _remove_volumes(client: docker.DockerClient, lab: str, progress: Progress) -> tuple[str, ...]:
    selector = _selector(lab)
    in_use = {
        mount.get("Name")
        for container in client.containers.list(all=True, filters=selector)
        for mount in container.attrs.get("Mounts", [])
    }
    removed: list[str] = []
    for volume in client.volumes.list(filters=selector):
        if volume.name in in_use:
            continue
        progress(f"Removing volume {volume.name}")
        with suppress(docker.errors.NotFound):
            volume.remove(force=True)
            removed.append(volume.name)
    return tuple(removed)


def _remove_networks(client: docker.DockerClient, lab: str, progress: Progress) -> tuple[str, ...]:
    removed: list[str] = []
    for network in client.networks.list(filters=_selector(lab)):
        with suppress(docker.errors.NotFound):
            network.reload()
            if network.attrs.get("Containers"):
                continue
            progress(f"Removing network {network.name}")
            network.remove()
            removed.append(network.name)
    return tuple(removed)


def repair_lab_addresses(
    lab: str, addresses: dict[str, str], progress: Progress = quiet
) -> list[str]:
    """Attach node containers that lack their lab address to the lab's network.

    On a busy host Vagrant's docker provider has been seen to start a node without
    its lab network (no ``eth1``) and still report success; every later step then
    fails on that node. This puts the address back, as ``docker network connect
    --ip`` would.

    Args:
        lab: The lab's name (its label).
        addresses: Node name -> the address it must have on the lab network.
        progress: Where to report a repair.

    Returns:
        The nodes that were repaired.
    """
    client = engine_client()
    repaired = []
    with engine_errors(f"checking the lab addresses of lab {lab!r}"):
        networks = client.networks.list(filters=_selector(lab))
        if len(networks) != 1:
            return []
        network = networks[0]
        for container in client.containers.list(filters=_selector(lab)):
            name = container.labels.get("workshop.node")
            wanted = addresses.get(name or "")
            attached = container.attrs["NetworkSettings"]["Networks"].get(network.name)
            if wanted is None or (attached and attached.get("IPAddress") == wanted):
                continue
            if attached:
                network.disconnect(container, force=True)
            network.connect(container, ipv4_address=wanted)
            progress(f"{name}: attached to {network.name} at {wanted} (it came up without it)")
            repaired.append(str(name))
    return repaired

"""The docker provider's runtime view: what of a lab exists, found by label.

Node containers, their volumes and the lab network carry ``workshop.lab=<name>``;
node containers and their volumes also carry ``workshop.project=<folder>``, the
absolute path of the project folder whose `workshop up` made them (their owner).
The Docker engine is the source of truth: leftovers of an interrupted run are found
by the lab's label, and whose they are by the owner's, with no state file to go
stale. Whether an object may be removed is decided in :mod:`workshop.lab.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Literal

import docker
import docker.errors

from workshop.images.engine import engine_client, engine_errors
from workshop.progress import Progress, quiet

__all__ = [
    "LAB_LABEL",
    "PROJECT_LABEL",
    "LabObject",
    "LabObjects",
    "lab_objects",
    "lab_survey",
    "leftovers",
    "remove_lab_objects",
    "remove_objects",
    "repair_lab_addresses",
]

LAB_LABEL = "workshop.lab"
#: The owner of a node container or volume: the absolute path of its project folder.
PROJECT_LABEL = "workshop.project"
SERVICE_LABEL = "workshop.service"


@dataclass(frozen=True)
class LabObject:
    """One container or volume of a lab, with its owner.

    Attributes:
        kind: ``container`` or ``volume``.
        name: Its name (without the leading ``/`` of a container's).
        id: The container's id; a volume's name.
        owner: The project folder of its ``workshop.project`` label; empty when it has
            none (made by hand, or by a kit that did not label its owner yet).
        service: A container of the lab's own services (the apt cache).
        mounts: A container's named volumes.
    """

    kind: Literal["container", "volume"]
    name: str
    id: str
    owner: str = ""
    service: bool = False
    mounts: tuple[str, ...] = ()

    @classmethod
    def from_container(cls, attrs: Mapping[str, Any]) -> LabObject:
        """From a container's ``docker container inspect`` answer."""
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        mounts = attrs.get("Mounts") or []
        return cls(
            kind="container",
            name=str(attrs.get("Name", "")).lstrip("/"),
            id=str(attrs["Id"]),
            owner=labels.get(PROJECT_LABEL, ""),
            service=SERVICE_LABEL in labels,
            mounts=tuple(m["Name"] for m in mounts if m.get("Type") == "volume" and m.get("Name")),
        )

    @classmethod
    def from_volume(cls, attrs: Mapping[str, Any]) -> LabObject:
        """From a volume's ``docker volume inspect`` answer."""
        labels = attrs.get("Labels") or {}
        name = str(attrs["Name"])
        return cls(kind="volume", name=name, id=name, owner=labels.get(PROJECT_LABEL, ""))


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


def lab_survey(lab: str) -> tuple[LabObject, ...]:
    """Every container and volume labelled as part of `lab`, with its owner (containers first)."""
    client = engine_client()
    selector = _selector(lab)
    with engine_errors(f"listing the containers and volumes of lab {lab!r}"):
        containers = client.containers.list(all=True, filters=selector)
        volumes = client.volumes.list(filters=selector)
        return (
            *sorted((LabObject.from_container(c.attrs) for c in containers), key=_by_name),
            *sorted((LabObject.from_volume(v.attrs) for v in volumes), key=_by_name),
        )


def _by_name(item: LabObject) -> str:
    return item.name


def remove_objects(
    lab: str, objects: Iterable[LabObject], progress: Progress = quiet
) -> LabObjects:
    """Remove exactly these containers, then these volumes, then the lab's unused networks.

    An object that is gone already is not an error. Networks hold nothing of their
    own (Vagrant makes one again for the lab's subnet): one that no running
    container uses goes too.

    Returns:
        What was removed.

    Raises:
        EngineError: The engine does not answer, or refused a removal.
    """
    client = engine_client()
    items = list(objects)
    containers: list[str] = []
    volumes: list[str] = []
    with engine_errors(f"removing the containers and volumes of lab {lab!r}"):
        for item in (i for i in items if i.kind == "container"):
            progress(f"Removing container {item.name}")
            with suppress(docker.errors.NotFound):
                client.containers.get(item.id).remove(force=True, v=True)
                containers.append(item.name)
        for item in (i for i in items if i.kind == "volume"):
            progress(f"Removing volume {item.name}")
            with suppress(docker.errors.NotFound):
                client.volumes.get(item.name).remove(force=True)
                volumes.append(item.name)
        networks = _remove_networks(client, lab, progress)
    return LabObjects(tuple(containers), tuple(volumes), networks)


def container_ids(lab: str) -> dict[str, str]:
    """Container name -> full id for the lab's containers."""
    client = engine_client()
    with engine_errors(f"listing the containers of lab {lab!r}"):
        containers = client.containers.list(all=True, filters=_selector(lab))
        return {c.name: c.id for c in containers}


def leftovers(
    objects: Iterable[LabObject],
    keep_containers: Iterable[str] = (),
    *,
    keep_services: bool = False,
) -> tuple[LabObject, ...]:
    """What of `objects` goes: containers but `keep_containers` ids, volumes no staying one mounts.

    With `keep_services`, containers labelled `workshop.service` (the lab's apt cache)
    and their volumes stay too: `up` keeps them, `down` removes everything.
    """
    items = list(objects)
    keep = set(keep_containers)
    staying = [
        item
        for item in items
        if item.kind == "container" and (item.id in keep or (keep_services and item.service))
    ]
    mounted = {volume for item in staying for volume in item.mounts}
    return tuple(
        item
        for item in items
        if item not in staying and not (item.kind == "volume" and item.name in mounted)
    )


def remove_lab_objects(
    lab: str,
    keep_containers: Iterable[str] = (),
    progress: Progress = quiet,
    *,
    keep_services: bool = False,
) -> LabObjects:
    """Remove the lab's containers (but `keep_containers` ids), then unused volumes and networks.

    Whoever owns them: the caller has decided (see :mod:`workshop.lab.lifecycle`).
    `keep_services` as in :func:`leftovers`.

    Returns:
        What was removed.

    Raises:
        EngineError: The engine does not answer, or refused a removal.
    """
    objects = leftovers(lab_survey(lab), keep_containers, keep_services=keep_services)
    return remove_objects(lab, objects, progress)


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

"""Lab snapshots on this host's engine: their names, labels, listing and removal.

A snapshot ``NAME`` of lab ``LAB`` is, for each node, one image (the node's file
system, committed) and one volume per volume the node mounts (copied):

- image ``workshop/snapshot/LAB/NODE:NAME``;
- volumes ``<the node's volume>-snap-NAME`` (e.g. ``LAB-node-1-docker-snap-NAME``).

All carry ``workshop.snapshot=NAME``, ``workshop.snapshot.lab=LAB``,
``workshop.project=<folder>``, ``workshop.node`` and the key
(:mod:`workshop.lab.snapshot_key`). Volumes carry ``workshop.snapshot.lab``, not
``workshop.lab``: whatever carries ``workshop.lab`` is the lab itself, which `up`
clears of leftovers and `down` removes, and a snapshot outlives both. The images
also record the nodes the snapshot must hold (``workshop.snapshot.nodes``): a save
cut short leaves a snapshot that lists as incomplete and is never restored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors

from workshop.errors import UsageError
from workshop.lab.snapshot_key import SnapshotKey
from workshop.progress import Progress, quiet

__all__ = [
    "NAME_LABEL",
    "Snapshot",
    "check_name",
    "image_repository",
    "list_snapshots",
    "prune_untagged",
    "remove_snapshot_objects",
    "snapshot_labels",
    "volume_copy_name",
]

NAME_LABEL = "workshop.snapshot"
LAB_LABEL = "workshop.snapshot.lab"
NODES_LABEL = "workshop.snapshot.nodes"
SAVED_LABEL = "workshop.snapshot.saved"
BYTES_LABEL = "workshop.snapshot.volume-bytes"
SOURCE_LABEL = "workshop.snapshot.source"
#: The last state of ``require`` that held when it was saved ("" if unknown).
STATE_LABEL = "workshop.snapshot.state"
NODE_LABEL = "workshop.node"
PROJECT_LABEL = "workshop.project"
#: A snapshot's name: an image tag and part of a volume name alike.
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")


def check_name(name: str) -> str:
    """``name`` if it can name a snapshot.

    Raises:
        UsageError: It cannot (checked before anything changes).
    """
    if not _NAME.fullmatch(name or ""):
        raise UsageError(
            f"{name!r} cannot name a snapshot: use 1 to 40 characters, lower-case letters, "
            "digits, '.', '_' or '-', starting with a letter or digit (e.g. 'gluster')"
        )
    return name


def image_repository(lab: str, node: str) -> str:
    """The repository of a node's snapshot images (the snapshot's name is the tag)."""
    return f"workshop/snapshot/{lab}/{node}"


def volume_copy_name(volume: str, name: str) -> str:
    """The name of snapshot ``name``'s copy of the node volume ``volume``."""
    return f"{volume}-snap-{name}"


def snapshot_labels(lab: str, name: str, node: str, project: str) -> dict[str, str]:
    """The labels every object of a snapshot carries (the key aside)."""
    return {NAME_LABEL: name, LAB_LABEL: lab, NODE_LABEL: node, PROJECT_LABEL: project}


@dataclass
class Snapshot:
    """One snapshot of a lab, as the engine holds it.

    Attributes:
        name: Its name.
        lab: The lab it was taken of.
        project: The folder of the lab it was taken of.
        key: What it was taken from (``None``: no image carries one).
        nodes: The nodes it must hold.
        images: Node -> the image id of its file system.
        volumes: Node -> {the node's volume -> the snapshot's copy of it}.
        saved: When it was saved (UTC, ISO 8601).
        state: The last lab state (``require``'s) that held when it was saved.
        size: Bytes on disk of its own (image layers above the node image, volumes).
    """

    name: str
    lab: str
    project: str = ""
    key: SnapshotKey | None = None
    nodes: tuple[str, ...] = ()
    images: dict[str, str] = field(default_factory=dict)
    volumes: dict[str, dict[str, str]] = field(default_factory=dict)
    saved: str = ""
    state: str = ""
    size: int = 0

    @property
    def complete(self) -> bool:
        """Whether every node has its image and a copy of each of its volumes."""
        return bool(self.nodes) and all(
            node in self.images and self.volumes.get(node) for node in self.nodes
        )


def _image_size(client: docker.DockerClient, attrs: Mapping[str, Any], base: str) -> int:
    """Bytes of an image's layers above ``base`` (the node image)."""
    total = int(attrs.get("Size") or 0)
    with suppress(docker.errors.NotFound):
        total -= int(client.images.get(base).attrs.get("Size") or 0) if base else 0
    return max(total, 0)


def _add_image(
    client: docker.DockerClient, found: dict[tuple[str, str], Snapshot], image: Any
) -> None:
    labels = image.labels or {}
    snap = _entry(found, labels) if image.tags else None  # untagged: removed, still in use
    if snap is None:
        return
    node = labels.get(NODE_LABEL, "")
    snap.images[node] = image.id
    snap.key = SnapshotKey.from_labels(labels) or snap.key
    snap.project = labels.get(PROJECT_LABEL, snap.project)
    snap.nodes = tuple(filter(None, labels.get(NODES_LABEL, "").split(","))) or snap.nodes
    snap.saved = max(snap.saved, labels.get(SAVED_LABEL, ""))
    snap.state = labels.get(STATE_LABEL, snap.state)
    snap.size += _image_size(client, image.attrs, snap.key.image if snap.key else "")
    with suppress(ValueError):
        snap.size += int(labels.get(BYTES_LABEL) or 0)


def _entry(found: dict[tuple[str, str], Snapshot], labels: Mapping[str, str]) -> Snapshot | None:
    name, lab = labels.get(NAME_LABEL), labels.get(LAB_LABEL)
    if not name or not lab:
        return None
    return found.setdefault((lab, name), Snapshot(name=name, lab=lab))


def list_snapshots(client: docker.DockerClient, lab: str | None = None) -> list[Snapshot]:
    """The snapshots on this engine (of lab ``lab`` only, if given), by lab and name.

    Raises:
        docker.errors.DockerException: The engine refused or did not answer (the
            caller wraps it).
    """
    selector = {"label": f"{LAB_LABEL}={lab}" if lab else LAB_LABEL}
    found: dict[tuple[str, str], Snapshot] = {}
    for image in client.images.list(filters=selector):
        _add_image(client, found, image)
    for volume in client.volumes.list(filters=selector):
        labels = volume.attrs.get("Labels") or {}
        snap = _entry(found, labels)
        if snap is not None:
            node = labels.get(NODE_LABEL, "")
            snap.volumes.setdefault(node, {})[labels.get(SOURCE_LABEL, "")] = volume.name
    return sorted(found.values(), key=lambda s: (s.lab, s.name))


def remove_snapshot_objects(
    client: docker.DockerClient, snapshots: Iterable[Snapshot], progress: Progress = quiet
) -> list[str]:
    """Remove the snapshots' images and volumes; what is gone already is no error.

    An image a node container still runs on (the lab was restored from it) loses its
    name only; its layers go when that container does (`workshop down`, or the next
    restore of another snapshot), and it no longer lists.

    Returns:
        The names of what was removed or untagged.
    """
    removed: list[str] = []
    for snap in snapshots:
        progress(f"Removing snapshot {snap.name!r} of lab {snap.lab!r}")
        for node, image in sorted(snap.images.items()):
            removed.extend(
                _remove_image(client, image, f"{image_repository(snap.lab, node)}:{snap.name}")
            )
        for copies in snap.volumes.values():
            for volume in sorted(copies.values()):
                with suppress(docker.errors.NotFound):
                    client.volumes.get(volume).remove(force=True)
                    removed.append(volume)
    return removed


def _remove_image(client: docker.DockerClient, image: str, tag: str) -> list[str]:
    try:
        client.images.remove(image, noprune=False)
    except docker.errors.NotFound:
        return []
    except docker.errors.APIError as exc:
        if exc.status_code != 409:  # 409: a container runs on it
            raise
        with suppress(docker.errors.NotFound):
            client.images.remove(tag, force=True)  # its name only: the layers stay in use
    return [tag]


def prune_untagged(client: docker.DockerClient, lab: str) -> int:
    """Remove the lab's snapshot images that lost their name and that no container uses.

    Such an image is left when a snapshot is removed while the lab runs on it.

    Returns:
        How many were removed.
    """
    count = 0
    for image in client.images.list(filters={"label": f"{LAB_LABEL}={lab}", "dangling": True}):
        with suppress(docker.errors.NotFound, docker.errors.APIError):
            client.images.remove(image.id)
            count += 1
    return count

"""Save and restore a docker-provider lab: node file systems and volumes, on the engine.

``save``: the node containers are stopped (``docker stop``: systemd shuts dockerd,
glusterd and the registry down cleanly, so Raft, Gluster and the registry's files
are consistent), each node's volumes are copied into snapshot volumes by a
throwaway container of the node's image (no network), each node's file system is
committed to an image that also records the node's create request
(:mod:`workshop.lab.snapshot_spec`), and the nodes are started again.

``restore``: each node container is removed and made again, under the same name,
from the snapshot's image with the create request of the container Vagrant made
(read from that container, or the one recorded), after the snapshot's volume
copies were copied back into the node's volumes; the new container's id is
written where Vagrant keeps it, so that Vagrant and the kit know the machine.

Both only touch the engine: whether the swarm and the volume came back is for the
layers that reach the nodes. Every engine call has a timeout. On Ctrl-C the nodes'
work in flight ends first (each step is bounded), then the interruption goes on: a
save starts the nodes it stopped again; a restore may leave a node without its
container, or with its volumes half copied (Vagrant then says ``not_created``).
The next restore makes every node again from the snapshot, whatever it finds (it
removes a leftover copying container too), and `workshop up --replace` rebuilds
the lab from scratch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import docker
import docker.errors

from workshop.errors import NotReady, NotSupported, UsageError
from workshop.images import NODE_IMAGE, engine_client, engine_errors
from workshop.lab.lifecycle import not_ours, owner_refusal
from workshop.lab.runtime import LabObject
from workshop.lab.snapshot_copy import copy_volumes, parallel, remove_workers, volume_sources
from workshop.lab.snapshot_key import (
    IMAGE_LABEL,
    SnapshotKey,
    key_differences,
    settings_digest,
    steps_digest,
)
from workshop.lab.snapshot_spec import ContainerSpec, container_spec
from workshop.lab.snapshot_store import (
    BYTES_LABEL,
    NODES_LABEL,
    SAVED_LABEL,
    SOURCE_LABEL,
    STATE_LABEL,
    Snapshot,
    check_name,
    image_repository,
    list_snapshots,
    prune_untagged,
    remove_snapshot_objects,
    snapshot_labels,
    volume_copy_name,
)
from workshop.lab.vagrant import VagrantSource
from workshop.progress import Progress, quiet

__all__ = [
    "current_key",
    "find_snapshot",
    "lab_engine",
    "remove_snapshots",
    "restore",
    "save",
    "snapshots",
]

#: Seconds a node may take to shut down before the engine kills it.
STOP_TIMEOUT = 60
#: Seconds one engine request may take (a commit of a node's file system included).
ENGINE_TIMEOUT = 300
SPEC_LABEL = "workshop.snapshot.spec"


@dataclass(frozen=True)
class _Node:
    """A node of the lab on the engine: its name, container (if any) and create request."""

    name: str
    container: Any
    spec: ContainerSpec | None


def lab_engine(source: VagrantSource) -> docker.DockerClient:
    """The engine client, once the lab is known to be of node containers.

    Raises:
        NotSupported: The lab's machines are VMs (or real hosts).
    """
    if source.provider != "docker":
        raise NotSupported(
            f"lab {source.settings.name!r} runs on {source.provider}: `workshop snapshot` "
            "saves node containers (the docker provider); for VMs use Vagrant's own "
            "snapshots (`vagrant snapshot save NAME`)"
        )
    return engine_client(timeout=ENGINE_TIMEOUT)


def current_key(source: VagrantSource, image: str | None = None) -> SnapshotKey:
    """The key a snapshot of this lab must have to be restored now.

    Args:
        source: The lab.
        image: The node image's id (default: that of the node image on the engine).
    """
    if image is None:
        with engine_errors(f"reading the node image {NODE_IMAGE}"):
            client = engine_client(timeout=30)
            try:
                image = client.images.get(NODE_IMAGE).id
            except docker.errors.ImageNotFound:
                image = ""
    settings = source.settings
    flags = settings.resolved_node_flags()
    return SnapshotKey(
        image=image or "",
        steps=steps_digest(source.project_dir),
        settings=settings_digest(settings, source.provider, flags),
    )


def snapshots(source: VagrantSource, *, every_lab: bool = False) -> list[Snapshot]:
    """The snapshots of this lab (of every lab with ``every_lab``)."""
    client = lab_engine(source)
    with engine_errors("listing the lab snapshots"):
        return list_snapshots(client, None if every_lab else source.settings.name)


def find_snapshot(source: VagrantSource, name: str) -> Snapshot:
    """This lab's snapshot ``name``.

    Raises:
        UsageError: There is none (the message names those there are).
    """
    check_name(name)
    every = snapshots(source, every_lab=True)
    lab = source.settings.name
    for snap in every:
        if snap.lab == lab and snap.name == name:
            return snap
    ours = [s.name for s in every if s.lab == lab]
    others = sorted({s.lab for s in every if s.name == name})
    where = (
        f" (labs {', '.join(others)} have one: a snapshot serves its own lab only)"
        if others
        else ""
    )
    have = f"it has {', '.join(ours)}" if ours else "it has none"
    raise UsageError(
        f"lab {lab!r} has no snapshot {name!r}{where}; {have} (`workshop snapshot ls`)"
    )


def _containers(client: docker.DockerClient, source: VagrantSource) -> dict[str, _Node]:
    """Every node of the settings: its container (Vagrant's, else by name) and spec."""
    nodes = {}
    for name in source.settings.node_names:
        container = None
        for ref in (source.machine_id(name), f"{source.settings.name}-{name}"):
            if ref and container is None:
                with suppress(docker.errors.NotFound):
                    container = client.containers.get(ref)
        spec = container_spec(container.attrs) if container is not None else None
        nodes[name] = _Node(name, container, spec)
    return nodes


def _check_owner(source: VagrantSource, nodes: dict[str, _Node]) -> None:
    """Refuse to touch node containers another folder made (unless ``source.replace``).

    Raises:
        UsageError: Some are another folder's, or name no folder: nothing was changed.
    """
    made = [LabObject.from_container(n.container.attrs) for n in nodes.values() if n.container]
    blocking = not_ours(made, source.project_dir, source.machine_ids())
    if blocking and not source.replace:
        raise owner_refusal(source.settings.name, source.project_dir, blocking)


@contextmanager
def _stopped(containers: Sequence[Any], progress: Progress) -> Iterator[None]:
    """The containers stopped for the block; those that ran, started after it (also on failure)."""
    running = [c for c in containers if (c.attrs.get("State") or {}).get("Running")]
    by_name = {c.name: c for c in running}
    progress(f"Stopping {len(running)} nodes (up to {STOP_TIMEOUT} s)")
    parallel(list(by_name), lambda n: by_name[n].stop(timeout=STOP_TIMEOUT))
    try:
        yield
    finally:
        progress("Starting the nodes again")
        for container in running:
            container.start()


def save(
    source: VagrantSource, name: str, progress: Progress = quiet, *, state: str = ""
) -> Snapshot:
    """Save the lab as snapshot ``name`` (a snapshot of that name is replaced).

    Args:
        source: The lab.
        name: The snapshot's name.
        progress: Where to report.
        state: The last lab state that holds now (kept with the snapshot: a restore
            waits for it, and ``require`` may use the snapshot for it).

    Raises:
        UsageError: ``name`` is not a valid name.
        NotSupported: The lab is not of node containers.
        NotReady: A node has no container (`workshop up` first).
        EngineError: The engine refused or did not answer.
    """
    check_name(name)
    client = lab_engine(source)
    lab = source.settings.name
    with engine_errors(f"saving snapshot {name!r} of lab {lab!r}"):
        nodes = _containers(client, source)
        _check_owner(source, nodes)
        missing = [n for n, node in nodes.items() if node.container is None]
        if missing:
            raise NotReady(f"{', '.join(missing)} of lab {lab!r} not created: `workshop up` first")
        base = _base_image(client, nodes[source.settings.node_names[0]].container)
        key = current_key(source, base)
        remove_workers(client, lab)
        prune_untagged(client, lab)  # removed snapshots the lab ran on until `down`
        remove_snapshot_objects(client, [s for s in list_snapshots(client, lab) if s.name == name])
        saved = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with _stopped([node.container for node in nodes.values()], progress):
            stamp = {SAVED_LABEL: saved, STATE_LABEL: state}
            parallel(list(nodes), lambda n: _save_node(client, source, nodes[n], name, key, stamp))
    progress(f"Saved snapshot {name!r} of lab {lab!r}")
    return find_snapshot(source, name)


def _base_image(client: docker.DockerClient, container: Any) -> str:
    """The node image under a container (a restored node runs on a snapshot image)."""
    image = client.images.get(container.attrs["Image"])
    return str((image.labels or {}).get(IMAGE_LABEL) or image.id)


def _save_node(
    client: docker.DockerClient,
    source: VagrantSource,
    node: _Node,
    name: str,
    key: SnapshotKey,
    stamp: dict[str, str],
) -> None:
    lab, project = source.settings.name, str(source.project_dir)
    labels = {**snapshot_labels(lab, name, node.name, project), **key.labels()}
    pairs = []
    for volume in volume_sources(node.container):
        copy = volume_copy_name(volume, name)
        client.volumes.create(copy, labels={**labels, SOURCE_LABEL: volume})
        pairs.append((volume, copy))
    size = copy_volumes(client, lab, node.container.attrs["Image"], pairs) if pairs else 0
    assert node.spec is not None
    labels.update(
        {
            **stamp,
            NODES_LABEL: ",".join(source.settings.node_names),
            BYTES_LABEL: str(size),
            SPEC_LABEL: node.spec.to_json(),
        }
    )
    node.container.commit(
        repository=image_repository(lab, node.name), tag=name, conf={"Labels": labels}
    )


def restore(
    source: VagrantSource, name: str, progress: Progress = quiet, *, check_key: bool = True
) -> Snapshot:
    """Make every node of the lab again from snapshot ``name``.

    Raises:
        UsageError: No such snapshot of this lab, an incomplete one, or one whose key
            is not the current one (unless not ``check_key``): nothing was changed.
        NotSupported: The lab is not of node containers.
        EngineError: The engine refused or did not answer.
    """
    snap = find_snapshot(source, name)
    client = lab_engine(source)
    lab = source.settings.name
    if not snap.complete:
        raise UsageError(
            f"snapshot {name!r} of lab {lab!r} is incomplete (a save was cut short): "
            f"save it again (`workshop snapshot save {name}`) or remove it"
        )
    differences = key_differences(snap.key, current_key(source)) if check_key else []
    if differences:
        raise UsageError(
            f"snapshot {name!r} of lab {lab!r} was taken from another lab or kit: "
            f"{'; '.join(differences)}. Nothing was changed; bring the lab to that state "
            f"(`workshop provision --until ...`) and save it again"
        )
    with engine_errors(f"restoring snapshot {name!r} of lab {lab!r}"):
        nodes = _containers(client, source)
        _check_owner(source, nodes)
        remove_workers(client, lab)
        progress(f"Restoring {len(nodes)} nodes from snapshot {name!r}")
        parallel(list(nodes), lambda n: _restore_node(client, source, snap, nodes[n]))
        prune_untagged(client, lab)
    progress(f"Restored snapshot {name!r} of lab {lab!r}")
    return snap


def _restore_node(
    client: docker.DockerClient, source: VagrantSource, snap: Snapshot, node: _Node
) -> None:
    image = client.images.get(snap.images[node.name])
    spec = node.spec or ContainerSpec.from_json((image.labels or {})[SPEC_LABEL])
    if node.container is not None:
        node.container.remove(force=True)
    with suppress(docker.errors.NotFound):
        client.containers.get(spec.name).remove(force=True)  # one a cut restore made
    pairs = []
    for volume, copy in sorted(snap.volumes[node.name].items()):
        client.volumes.create(volume, labels=_volume_labels(spec, volume))
        pairs.append((copy, volume))
    copy_volumes(client, source.settings.name, image.id, pairs)
    made = client.api.create_container_from_config(spec.request(image.id), name=spec.name)
    container_id = str(made["Id"])
    for network in spec.networks:
        client.api.connect_container_to_network(
            container_id,
            network.network,
            ipv4_address=network.address or None,
            aliases=list(network.aliases) or None,
        )
    _write_machine_id(source, node.name, container_id)
    client.api.start(container_id)


def _volume_labels(spec: ContainerSpec, volume: str) -> dict[str, str]:
    """The labels Vagrant's create request gives ``volume`` (it may be gone)."""
    for mount in (spec.body.get("HostConfig") or {}).get("Mounts") or []:
        if mount.get("Source") == volume:
            return dict((mount.get("VolumeOptions") or {}).get("Labels") or {})
    return {}


def _write_machine_id(source: VagrantSource, node: str, container_id: str) -> None:
    """Tell Vagrant the node's container is this one (the file its docker provider reads)."""
    path: Path = source.dotfile_dir / "machines" / node / source.provider / "id"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"id.{os.getpid()}.{time.monotonic_ns()}")
    partial.write_text(container_id, encoding="utf-8")
    partial.replace(path)


def remove_snapshots(
    source: VagrantSource, names: Sequence[str] = (), progress: Progress = quiet
) -> list[Snapshot]:
    """Remove this lab's snapshots ``names`` (every one of them when empty).

    Raises:
        UsageError: A name is invalid or unknown: nothing was removed.
    """
    chosen = [find_snapshot(source, n) for n in names] if names else snapshots(source)
    client = lab_engine(source)
    with engine_errors(f"removing snapshots of lab {source.settings.name!r}"):
        remove_snapshot_objects(client, chosen, progress)
        prune_untagged(client, source.settings.name)
    return chosen

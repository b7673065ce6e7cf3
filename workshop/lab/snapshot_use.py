"""What the rest of the kit asks of a lab's snapshots: which one stands in for a state,
whether there is room for another, and what `workshop down` does with them."""

from __future__ import annotations

import shutil

from workshop.images import engine_errors
from workshop.lab.snapshot_key import key_differences
from workshop.lab.snapshot_store import Snapshot, list_snapshots, prune_untagged
from workshop.lab.snapshots import (
    current_key,
    lab_engine,
    remove_snapshots,
    snapshots,
)
from workshop.lab.vagrant import VagrantSource
from workshop.progress import Progress, quiet

__all__ = ["after_down", "engine_free_bytes", "matching_snapshot", "state_snapshot_name"]

#: Snapshots ``require`` saves and restores are named after their state: ``state-gluster``.
STATE_PREFIX = "state-"


def state_snapshot_name(state: str) -> str:
    """The name of the snapshot ``require`` keeps for ``state``."""
    return f"{STATE_PREFIX}{state}"


def after_down(
    source: VagrantSource, *, remove: bool, progress: Progress = quiet
) -> list[Snapshot]:
    """Once the lab is down: remove its snapshots (``remove``), or keep them.

    Either way the snapshot images that lost their name while the lab ran on them
    go too (no container uses them any more). Nothing happens for a VM lab.

    Returns:
        The snapshots removed (``remove``) or kept.
    """
    if source.provider != "docker":
        return []
    if remove:
        return remove_snapshots(source, (), progress)
    client = lab_engine(source)
    with engine_errors(f"tidying the snapshots of lab {source.settings.name!r}"):
        prune_untagged(client, source.settings.name)
        return list_snapshots(client, source.settings.name)


def matching_snapshot(source: VagrantSource, name: str, state: str) -> Snapshot | None:
    """This lab's snapshot ``name`` if it can stand in for ``state`` now, else ``None``.

    It can when it is complete, was saved in ``state`` and has the current key (the
    same node image, step definitions and lab settings).
    """
    found = [s for s in snapshots(source) if s.name == name]
    if not found or not found[0].complete or found[0].state != state:
        return None
    return None if key_differences(found[0].key, current_key(source)) else found[0]


def engine_free_bytes(source: VagrantSource) -> int | None:
    """Free bytes where the engine keeps images and volumes (``None``: cannot tell)."""
    client = lab_engine(source)
    with engine_errors("reading where the engine keeps its data"):
        root = str(client.info().get("DockerRootDir") or "")
    try:
        return shutil.disk_usage(root).free if root else None
    except OSError:
        return None  # the engine's folder is not this host's (a remote engine)

"""Bring a Vagrant lab up and tear it down, leaving nothing behind.

For the docker provider the node image is built first (cached), and leftovers of an
interrupted run (containers, volumes of this lab that this project's Vagrant state
does not know) are removed before `vagrant up`, so that names and addresses never
clash. An `up` that fails on a lab that did not exist cleans up what it created.
"""

from __future__ import annotations

from collections.abc import Callable

from workshop.errors import WorkshopError
from workshop.lab.vagrant import VagrantSource

__all__ = ["lab_destroy", "lab_up"]

Progress = Callable[[str], None]


def lab_up(source: VagrantSource, progress: Progress) -> None:
    """Create or start every machine of the lab."""
    existed = False
    if source.provider == "docker":
        from workshop.images import ensure_node_image
        from workshop.lab.runtime import container_ids, remove_lab_objects

        progress(f"Node image: {ensure_node_image(progress)}")
        ours = source.machine_ids()
        existed = bool(ours & set(container_ids(source.settings.name).values()))
        removed = remove_lab_objects(
            source.settings.name, keep_containers=ours, progress=progress, keep_services=True
        )
        if removed:
            progress(f"Removed leftovers of an earlier lab: {removed}")
    try:
        source.up(progress=progress)
    except WorkshopError:
        if not existed:
            progress("`vagrant up` failed: removing what it created")
            lab_destroy(source, progress)
        raise


def lab_destroy(source: VagrantSource, progress: Progress) -> None:
    """Destroy the lab's machines and, for node containers, every labelled leftover."""
    source.destroy(progress=progress)
    if source.provider == "docker":
        from workshop.lab.runtime import remove_lab_objects

        remove_lab_objects(source.settings.name, progress=progress)

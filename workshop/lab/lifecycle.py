"""Before `vagrant up` and after `vagrant destroy` of a lab of node containers.

The node image is built first (cached), and leftovers of an interrupted run
(containers, volumes of this lab that this project's Vagrant state does not know)
are removed before `vagrant up`, so that names and addresses never clash. After a
destroy, every object labelled with the lab's name goes too.
"""

from __future__ import annotations

from workshop.progress import Progress

__all__ = ["prepare_node_containers", "remove_node_containers"]


def prepare_node_containers(lab_name: str, vagrant_ids: set[str], progress: Progress) -> bool:
    """Build the node image and remove leftovers; whether any machine of the lab exists.

    Args:
        lab_name: The lab's name (its label on every container, volume and network).
        vagrant_ids: Container ids that this project's Vagrant state knows (kept).
        progress: Where to report.
    """
    from workshop.images import ensure_node_image
    from workshop.lab.runtime import container_ids, remove_lab_objects

    progress(f"Node image: {ensure_node_image(progress)}")
    existed = bool(vagrant_ids & set(container_ids(lab_name).values()))
    removed = remove_lab_objects(
        lab_name, keep_containers=vagrant_ids, progress=progress, keep_services=True
    )
    if removed:
        progress(f"Removed leftovers of an earlier lab: {removed}")
    return existed


def remove_node_containers(lab_name: str, progress: Progress) -> None:
    """Remove every container, volume and network labelled with the lab's name."""
    from workshop.lab.runtime import remove_lab_objects

    remove_lab_objects(lab_name, progress=progress)

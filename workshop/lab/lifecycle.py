"""Before `vagrant up` and around `vagrant destroy` of a lab of node containers.

The node image is built first (cached), and leftovers of an interrupted run
(containers, volumes of this lab that this project's Vagrant state does not know)
are removed before `vagrant up`, so that names and addresses never clash. After a
destroy, every object labelled with the lab's name goes too.

Whose a lab is: node containers and their volumes carry the absolute path of the
project folder that made them (``workshop.project``). Nothing is removed that
another folder owns, and `up` removes nothing that names no folder (made by hand,
or by a kit that did not label its owner yet): both are refused, before anything is
removed, with the ways out. A container this folder's Vagrant state knows is this
folder's, labelled or not, and so are its volumes: a lab made before owners were
labelled goes on working in its own folder. ``replace`` (`workshop up --replace`,
or ``WORKSHOP_REPLACE=1`` for disposable labs such as the tests') removes them all.
`down` removes objects that name no folder (that is what it is asked for), never
another folder's unless ``replace``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from workshop.errors import UsageError
from workshop.lab.runtime import LabObject
from workshop.progress import Progress

__all__ = [
    "check_removal",
    "not_ours",
    "owner_refusal",
    "prepare_node_containers",
    "remove_node_containers",
]


def not_ours(
    objects: Iterable[LabObject],
    project: Path,
    mine: Iterable[str] = (),
    *,
    unowned_ok: bool = False,
) -> list[LabObject]:
    """The objects this folder may not remove without ``replace``.

    Args:
        objects: Objects of the lab.
        project: This project folder (absolute).
        mine: Container ids this folder's Vagrant state knows: this folder's, and so
            are the volumes they mount, whatever their labels say.
        unowned_ok: Objects that name no folder may go (`down`).
    """
    items = list(objects)
    ids = set(mine)
    mounted = {
        v for item in items if item.kind == "container" and item.id in ids for v in item.mounts
    }
    blocking = []
    for item in items:
        if item.owner == str(project) or item.id in ids or item.name in mounted:
            continue
        if unowned_ok and not item.owner:
            continue
        blocking.append(item)
    return blocking


def owner_refusal(lab_name: str, project: Path, blocking: Sequence[LabObject]) -> UsageError:
    """The refusal that names who owns what, and the two ways out."""
    owners = sorted({item.owner for item in blocking})
    parts = []
    for owner in owners:
        names = ", ".join(item.name for item in blocking if item.owner == owner)
        if not owner:
            parts.append(f"{names} name no folder (made by hand, or by an older kit)")
        elif (Path(owner) / "Vagrantfile").is_file():
            parts.append(f"{names} belong to the folder {owner}")
        else:
            parts.append(f"{names} belong to the folder {owner}, which no longer exists")
    there = [owner for owner in owners if owner and (Path(owner) / "Vagrantfile").is_file()]
    down = f"`workshop down` in {' and '.join(there)}, or " if there else ""
    return UsageError(
        f"lab {lab_name!r} has containers or volumes that are not this folder's "
        f"({project}): {'; '.join(parts)}. Nothing was removed. Either give this folder "
        "a lab of its own: another WORKSHOP_LAB and a subnet no other lab uses (e.g. "
        "`WORKSHOP_LAB=mylab WORKSHOP_SUBNET=192.168.60 workshop up`); or remove the "
        f"other lab: {down}`workshop up --replace` here (it destroys them, volumes and "
        "Gluster bricks included)."
    )


def prepare_node_containers(
    lab_name: str,
    vagrant_ids: set[str],
    progress: Progress,
    *,
    project: Path,
    replace: bool = False,
) -> bool:
    """Build the node image and remove leftovers; whether any machine of the lab exists.

    Args:
        lab_name: The lab's name (its label on every container, volume and network).
        vagrant_ids: Container ids that this project's Vagrant state knows (kept).
        progress: Where to report.
        project: This project folder (absolute): the owner of what `up` makes.
        replace: Remove leftovers whoever owns them.

    Raises:
        UsageError: A leftover is another folder's, or names no folder, and not
            ``replace``: nothing was removed.
    """
    from workshop.images import ensure_node_image
    from workshop.lab.runtime import lab_survey, leftovers, remove_objects

    objects = lab_survey(lab_name)
    stale = leftovers(objects, vagrant_ids, keep_services=True)
    blocking = not_ours(stale, project)
    if blocking and not replace:
        raise owner_refusal(lab_name, project, blocking)
    existed = any(item.kind == "container" and item.id in vagrant_ids for item in objects)
    progress(f"Node image: {ensure_node_image(progress)}")
    if blocking:
        progress(f"Replacing lab {lab_name!r} of another folder (--replace)")
    removed = remove_objects(lab_name, stale, progress)
    if removed:
        progress(f"Removed leftovers of an earlier lab: {removed}")
    return existed


def check_removal(
    lab_name: str, vagrant_ids: set[str], *, project: Path, replace: bool = False
) -> None:
    """Before `down`: refuse when another folder owns objects of the lab (unless ``replace``).

    Raises:
        UsageError: Another folder owns some: nothing was removed.
    """
    from workshop.lab.runtime import lab_survey

    objects = lab_survey(lab_name)
    blocking = not_ours(objects, project, vagrant_ids, unowned_ok=True)
    if blocking and not replace:
        raise owner_refusal(lab_name, project, blocking)


def remove_node_containers(
    lab_name: str, progress: Progress, *, project: Path, replace: bool = False
) -> None:
    """After `vagrant destroy`: remove every container, volume and network of the lab.

    Objects another folder owns stay (unless ``replace``): one made since
    :func:`check_removal` looked is not removed behind that folder's back.
    """
    from workshop.lab.runtime import lab_survey, remove_objects

    objects = lab_survey(lab_name)
    others = set() if replace else set(not_ours(objects, project, unowned_ok=True))
    remove_objects(lab_name, [item for item in objects if item not in others], progress)

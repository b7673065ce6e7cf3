"""GlusterFS as one node sees it, for the faults: ``gluster ... --xml`` on that node.

The answers are parsed by :mod:`workshop.steps.gluster_parse`, the kit's one parser
of gluster output.
"""

from __future__ import annotations

from workshop.errors import NotReady, UsageError
from workshop.remote import RemoteLab
from workshop.steps.commands import sh
from workshop.steps.gluster import GLUSTER
from workshop.steps.gluster_parse import (
    BrickProcess,
    GlusterBrick,
    GlusterError,
    GlusterVolume,
    HealBrick,
    parse_heal_info,
    parse_pool_list,
    parse_volume_info,
    parse_volume_status,
)

__all__ = ["brick_processes", "gluster_xml", "heal_info", "node_brick", "volumes"]

#: Seconds for one gluster command (heal info waits for bricks that do not answer).
GLUSTER_TIMEOUT = 60.0


def gluster_xml(lab: RemoteLab, name: str, args: list[str]) -> str:
    """Stdout of ``gluster --mode=script ARGS --xml`` on node ``name``.

    Raises:
        NotReady: GlusterFS is not installed on the node.
        NodeUnreachable: The node does not answer.
        CommandFailed: The command failed (glusterd not running, say).
    """
    command = sh(*GLUSTER, *args, "--xml")
    result = lab.run(command, on=name, sudo=True, timeout=GLUSTER_TIMEOUT)[0]
    if result.rc == 127:
        raise NotReady(
            f"GlusterFS is not installed on {name}: lab.require('gluster') builds the volume."
        )
    result.raise_for_failure()
    return result.stdout


def volumes(lab: RemoteLab, name: str) -> list[GlusterVolume]:
    """Every volume, as ``gluster volume info --xml`` on the node describes it."""
    return parse_volume_info(gluster_xml(lab, name, ["volume", "info"]))


def brick_processes(lab: RemoteLab, name: str) -> list[BrickProcess]:
    """Bricks of every started volume (``gluster volume status all --xml``), not daemons."""
    processes = parse_volume_status(gluster_xml(lab, name, ["volume", "status", "all"]))
    return [process for process in processes if process.is_brick]


def heal_info(lab: RemoteLab, name: str, volume: str) -> list[HealBrick]:
    """Entries waiting for heal, per brick (``gluster volume heal VOL info --xml``)."""
    return parse_heal_info(gluster_xml(lab, name, ["volume", "heal", volume, "info"]))


def node_brick(lab: RemoteLab, name: str, volume: str) -> GlusterBrick:
    """The brick of ``volume`` that node ``name`` holds: the one on its own peer UUID.

    Raises:
        UsageError: No such volume (the message lists those there are), or the node
            holds none of its bricks.
        NotReady: GlusterFS is not installed on the node.
        GlusterError: The node's pool list does not name the node itself.
    """
    found = volumes(lab, name)
    wanted = next((v for v in found if v.name == volume), None)
    if wanted is None:
        names = [v.name for v in found] or ["(none: lab.require('gluster') builds one)"]
        raise UsageError.choice("volume", volume, names)
    pool = parse_pool_list(gluster_xml(lab, name, ["pool", "list"]))
    own = next((peer.uuid for peer in pool if peer.is_self), None)
    if own is None:
        raise GlusterError(f"`gluster pool list` on {name} does not list {name} itself")
    mine = [brick for brick in wanted.bricks if brick.host_uuid == own]
    if not mine:
        held = ", ".join(brick.name for brick in wanted.bricks) or "(none)"
        raise UsageError(f"{name} holds no brick of volume {volume}; its bricks are: {held}")
    return mine[0]

"""Stop one GlusterFS brick, and start it again.

The brick's process id comes from ``gluster volume status VOL --xml`` on the node
(the brick whose peer UUID is the node's own, from ``gluster pool list --xml``);
``kill PID`` stops it. The volume keeps serving from the other replicas, and
remembers what the stopped brick missed. ``gluster volume start VOL force`` starts
the bricks that are not running; the self-heal daemon then copies what was
written meanwhile.
"""

from __future__ import annotations

from workshop.errors import NotReady, UsageError
from workshop.faults.gluster import (
    GLUSTER,
    Brick,
    GlusterReplyError,
    own_uuid,
    parse_volume_list,
    parse_volume_status,
    run_xml,
)
from workshop.faults.handle import Fault, inject
from workshop.faults.health import observe, wait_whole
from workshop.faults.power import RESTORE_TIMEOUT, running_node
from workshop.progress import Progress, poll_until, quiet
from workshop.remote import RemoteLab
from workshop.steps.gluster import VOLUME
from workshop.steps.shell import sh

__all__ = ["node_brick", "stop_brick"]

#: Seconds for a killed brick to show as offline, and for ``volume start force``.
BRICK_TIMEOUT = 60.0


def _volume_status(lab: RemoteLab, name: str, volume: str) -> list[Brick]:
    """Bricks of ``volume`` as node ``name`` sees them.

    Raises:
        UsageError: No such volume (the message lists the volumes there are).
    """
    try:
        return parse_volume_status(run_xml(lab, name, ["volume", "status", volume]))
    except GlusterReplyError as exc:
        if "does not exist" not in exc.op_errstr:
            raise
        volumes = parse_volume_list(run_xml(lab, name, ["volume", "list"]))
        choices = volumes or ["(none: lab.require('gluster') builds one)"]
        raise UsageError.choice("volume", volume, choices) from exc


def node_brick(lab: RemoteLab, name: str, volume: str) -> Brick:
    """The brick of ``volume`` that node ``name`` holds.

    Raises:
        UsageError: No such volume, or the node holds none of its bricks.
        NotReady: GlusterFS is not installed on the node.
    """
    bricks = _volume_status(lab, name, volume)
    uuid = own_uuid(run_xml(lab, name, ["pool", "list"]))
    mine = [brick for brick in bricks if brick.peer_id == uuid]
    if not mine:
        held = ", ".join(brick.name for brick in bricks) or "(none listed)"
        raise UsageError(f"{name} holds no brick of volume {volume}; its bricks are: {held}")
    return mine[0]


def _brick_now(lab: RemoteLab, name: str, brick: Brick) -> Brick | None:
    """The brick as the node sees it now (``None``: not listed)."""
    for now in _volume_status(lab, name, brick.volume):
        if now.name == brick.name:
            return now
    return None


def stop_brick(
    lab: RemoteLab,
    name: str,
    volume: str = VOLUME,
    *,
    timeout: float = RESTORE_TIMEOUT,
    progress: Progress = quiet,
) -> Fault:
    """Stop the brick process of ``volume`` on node ``name``; the handle starts it again.

    The restore runs ``gluster volume start VOL force`` and waits until the brick is
    online and nothing is left to heal (a file written meanwhile is on it again).

    Args:
        lab: The lab.
        name: The node, e.g. ``node-3``.
        volume: The GlusterFS volume.
        timeout: Seconds the restore waits for the brick to be back and healed.
        progress: Called with a line of text now and then.

    Raises:
        UnknownNode: The lab has no such node.
        UsageError: No such volume, or the node holds none of its bricks.
        NotReady: The node is not running, GlusterFS is not installed there, or its
            brick is not running already.
    """
    running_node(lab, name, "stop a brick on")
    brick = node_brick(lab, name, volume)
    if brick.pid is None:
        raise NotReady(
            f"brick {brick.name} of {volume} is not running already: start it with "
            f"`gluster volume start {volume} force`, then try again."
        )
    pid = brick.pid
    before = observe(lab, name)

    def do() -> str:
        lab.run(sh("kill", pid), on=name, sudo=True, timeout=BRICK_TIMEOUT).raise_for_failures()
        poll_until(
            lambda: _brick_now(lab, name, brick),
            lambda now: now is None or not now.online,
            timeout=BRICK_TIMEOUT,
            what=f"brick {brick.name} to stop",
        )
        return f"stopped brick {brick.name} of {volume} (`kill {pid}` on {name})"

    def undo() -> str:
        now = _brick_now(lab, name, brick)
        done = f"brick {brick.name} was running again"
        if now is None or not now.online:
            start = sh(*GLUSTER, "volume", "start", volume, "force")
            lab.run(start, on=name, sudo=True, timeout=BRICK_TIMEOUT).raise_for_failures()
            done = f"`gluster volume start {volume} force` on {name}"
        after = wait_whole(lab, before, timeout=timeout, progress=progress)
        return f"{done}; {after.summary()}"

    return inject("stop_brick", name, do, undo, progress)

"""Stop one GlusterFS brick, and start it again.

The node's brick is the one ``gluster volume info --xml`` gives its own peer UUID
(``gluster pool list --xml`` names it ``localhost``); its process id comes from
``gluster volume status all --xml``, and ``kill PID`` stops it. The volume keeps
serving from the other replicas, and remembers what the stopped brick missed.
``gluster volume start VOL force`` starts the bricks that are not running; the
self-heal daemon then copies what was written meanwhile.
"""

from __future__ import annotations

from workshop.errors import NotReady
from workshop.faults.gluster import brick_processes, node_brick
from workshop.faults.handle import Fault, inject
from workshop.faults.health import observe, wait_whole
from workshop.faults.power import RESTORE_TIMEOUT, running_node
from workshop.progress import Progress, poll_until, quiet
from workshop.remote import RemoteLab
from workshop.steps.commands import sh
from workshop.steps.gluster import GLUSTER, VOLUME
from workshop.steps.gluster_parse import BrickProcess

__all__ = ["stop_brick"]

#: Seconds for a killed brick to show as offline, and for ``volume start force``.
BRICK_TIMEOUT = 60.0


def _process(lab: RemoteLab, name: str, brick: str) -> BrickProcess | None:
    """Brick ``host:path`` as ``gluster volume status`` on the node shows it (``None``: not)."""
    return next((p for p in brick_processes(lab, name) if f"{p.host}:{p.path}" == brick), None)


def _stopped(process: BrickProcess | None) -> bool:
    return process is None or not process.online


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
    brick = node_brick(lab, name, volume).name
    process = _process(lab, name, brick)
    if process is None or not process.online or process.pid is None:
        raise NotReady(
            f"brick {brick} of {volume} is not running already: start it with "
            f"`gluster volume start {volume} force`, then try again."
        )
    pid = process.pid
    before = observe(lab, name)

    def do() -> str:
        lab.run(sh("kill", pid), on=name, sudo=True, timeout=BRICK_TIMEOUT).raise_for_failures()
        poll_until(
            lambda: _process(lab, name, brick),
            _stopped,
            timeout=BRICK_TIMEOUT,
            what=f"brick {brick} to stop",
        )
        return f"stopped brick {brick} of {volume} (`kill {pid}` on {name})"

    def undo() -> str:
        done = f"brick {brick} was running again"
        if _stopped(_process(lab, name, brick)):
            start = sh(*GLUSTER, "volume", "start", volume, "force")
            lab.run(start, on=name, sudo=True, timeout=BRICK_TIMEOUT).raise_for_failures()
            done = f"`gluster volume start {volume} force` on {name}"
        after = wait_whole(lab, before, timeout=timeout, progress=progress)
        return f"{done}; {after.summary()}"

    return inject("stop_brick", name, do, undo, progress)

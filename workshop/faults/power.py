"""Power a node off, as pulling its plug would, and on again."""

from __future__ import annotations

from workshop.errors import NotReady, NotSupported
from workshop.faults.handle import Fault, inject
from workshop.faults.health import observe, wait_whole
from workshop.progress import Progress, quiet
from workshop.remote import RemoteLab

__all__ = ["RESTORE_TIMEOUT", "power_off", "running_node"]

#: Seconds a restore waits for the lab (Swarm and Gluster need up to ~120 s).
RESTORE_TIMEOUT = 180.0


def running_node(lab: RemoteLab, name: str, fault: str) -> None:
    """Refuse a fault on an unknown node or one that is not running.

    Raises:
        UnknownNode: The lab has no such node (the message lists its nodes).
        NotReady: The node is not running; the message says how to start it.
    """
    node = lab.node(name)
    if not node.running:
        raise NotReady(
            f"cannot {fault} {name}: it is {node.state}; "
            f"{lab.source.start_advice(name)}, then try again."
        )


def power_off(
    lab: RemoteLab, name: str, *, timeout: float = RESTORE_TIMEOUT, progress: Progress = quiet
) -> Fault:
    """Power node ``name`` off; the handle powers it on and waits until it is back.

    The restore waits until the node answers SSH and has again what it had before:
    ``Ready`` in ``docker node ls``, its GlusterFS bricks online, nothing left to
    heal, its volumes mounted.

    Args:
        lab: The lab (its source must power machines: Vagrant VMs or node containers).
        name: The node, e.g. ``node-3``.
        timeout: Seconds the restore waits for the node to be back.
        progress: Called with a line of text now and then.

    Raises:
        NotSupported: The lab's machines are not powered by the kit (real hosts).
        UnknownNode: The lab has no such node.
        NotReady: The node is not running.
    """
    lab.node(name)
    if not lab.source.can_power:
        raise NotSupported(
            f"cannot power {name} off: the kit does not power this lab's machines "
            f"({lab.source.kind}). Power it off yourself to try this; to bring it back, "
            f"{lab.source.start_advice(name)}."
        )
    running_node(lab, name, "power off")
    before = observe(lab, name)

    def do() -> str:
        lab.halt(name, progress)
        return f"powered {name} off (lab.halt({name!r}))"

    def undo() -> str:
        if not lab.refresh().node(name).running:
            progress(f"power_off {name}: powering it on")
            lab.start(name, progress)
        after = wait_whole(lab, before, timeout=timeout, progress=progress)
        return f"powered {name} on (lab.start({name!r})); {after.summary()}"

    return inject("power_off", name, do, undo, progress)

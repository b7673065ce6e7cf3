"""What "the lab is whole again" means for one node, and the wait for it.

Before a fault the kit looks at the node: is it ``Ready`` in the swarm (as a
manager sees it), which GlusterFS bricks does it see online, does any volume wait
for a heal, which gluster volumes are mounted on it. A restore waits until
everything that was there before is there again; what was already missing before
the fault is not waited for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from workshop.errors import CommandFailed, WorkshopError
from workshop.faults.gluster import brick_processes, heal_info, volumes
from workshop.lab import RunResult
from workshop.progress import Progress, poll_until, quiet
from workshop.remote import RemoteLab
from workshop.steps.commands import sh
from workshop.swarm import SwarmReader, SwarmUnavailable

__all__ = ["NodeHealth", "observe", "stdout_json", "wait_whole"]

#: Seconds for one read-only command on the node.
PROBE_TIMEOUT = 60.0
#: Seconds between two looks while waiting.
INTERVAL = 2.0


@dataclass(frozen=True)
class NodeHealth:
    """One look at a node: swarm, bricks, heals and mounts.

    Attributes:
        node: The node's name.
        answered: Whether the node answered SSH.
        swarm: ``ready`` when a manager lists it Ready (and Reachable, for a
            manager); else what the swarm says (``down``, ``unavailable``...).
        volumes: The started volumes the node knows.
        bricks: Bricks the node sees online, as ``host:path``.
        heal_pending: Entries waiting for heal over those volumes (``None``: unknown).
        mounts: Mount points of GlusterFS volumes on the node.
        note: Why the node gave no answer, when it did not.
    """

    node: str
    answered: bool
    swarm: str
    volumes: tuple[str, ...] = ()
    bricks: frozenset[str] = frozenset()
    heal_pending: int | None = None
    mounts: frozenset[str] = frozenset()
    note: str = ""

    def missing(self, before: NodeHealth) -> list[str]:
        """What ``before`` had and this look has not, in words (empty: whole again)."""
        if before.answered and not self.answered:
            return [f"{self.node} does not answer yet ({self.note or 'no SSH answer'})"]
        gaps = []
        if before.swarm == "ready" and self.swarm != "ready":
            gaps.append(f"swarm: {self.node} is {self.swarm}, not Ready yet")
        offline = sorted(before.bricks - self.bricks)
        if offline:
            gaps.append("bricks not online yet: " + ", ".join(offline))
        if before.heal_pending == 0 and self.heal_pending != 0:
            pending = "unknown" if self.heal_pending is None else str(self.heal_pending)
            gaps.append(f"entries waiting for heal: {pending}")
        unmounted = sorted(before.mounts - self.mounts)
        if unmounted:
            gaps.append("not mounted yet: " + ", ".join(unmounted))
        return gaps

    def summary(self) -> str:
        """What is there, in one line (``Ready in the swarm; 3 bricks online; ...``)."""
        if not self.answered:
            return f"{self.node} does not answer ({self.note or 'no SSH answer'})"
        parts = ["Ready in the swarm" if self.swarm == "ready" else f"swarm: {self.swarm}"]
        if self.bricks:
            parts.append(f"{len(self.bricks)} bricks online")
        if self.heal_pending is not None and self.bricks:
            parts.append(f"{self.heal_pending} entries to heal")
        parts += [f"{mount} mounted" for mount in sorted(self.mounts)]
        return "; ".join(parts)


def _swarm_state(lab: RemoteLab, name: str) -> str:
    try:
        listed = [n for n in SwarmReader(lab).nodes() if n.hostname == name]
    except SwarmUnavailable as exc:
        return "unavailable (no manager answers)" if exc.no_leader else "not in a swarm"
    if not listed:
        return "not in the swarm"
    for node in listed:  # a node that joined again may also have a stale Down entry
        if node.status == "ready" and (not node.is_manager or node.is_reachable_manager):
            return "ready"
    node = listed[-1]
    return f"{node.status} ({node.manager_status})" if node.is_manager else node.status


def _volumes(lab: RemoteLab, name: str) -> tuple[str, ...]:
    try:
        return tuple(v.name for v in volumes(lab, name) if v.started)
    except WorkshopError:  # no gluster, or glusterd not (yet) running
        return ()


def _bricks(lab: RemoteLab, name: str) -> frozenset[str]:
    try:
        processes = brick_processes(lab, name)
    except WorkshopError:  # no volume started, or glusterd not (yet) running
        return frozenset()
    return frozenset(f"{p.host}:{p.path}" for p in processes if p.online)


def _heal_pending(lab: RemoteLab, name: str, volumes: tuple[str, ...]) -> int | None:
    total = 0
    for volume in volumes:
        try:
            bricks = heal_info(lab, name, volume)
        except WorkshopError:  # not a replicated volume, or glusterd does not answer
            return None
        if not all(b.connected and b.entries is not None for b in bricks):
            return None
        total += sum(b.entries or 0 for b in bricks)
    return total


def stdout_json(result: RunResult) -> dict[str, Any]:
    """A command's JSON answer as a dict.

    Raises:
        CommandFailed: The answer is not a JSON object.
    """
    try:
        answer = json.loads(result.stdout)
    except json.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        raise CommandFailed(
            result.command,
            result.node,
            result.rc,
            result.stdout,
            result.stderr,
            hint="It did not answer with a JSON object.",
        )
    return answer


def _mounts(lab: RemoteLab, name: str) -> frozenset[str] | None:
    command = sh("findmnt", "--json", "--types", "fuse.glusterfs", "--output", "TARGET")
    result = lab.run(command, on=name, sudo=True, timeout=PROBE_TIMEOUT)[0]
    if result.rc is None:
        return None
    if not result.stdout.strip():  # findmnt found nothing (exit code 1)
        return frozenset()
    found = stdout_json(result).get("filesystems", [])
    return frozenset(str(fs["target"]) for fs in found)


def observe(lab: RemoteLab, name: str, volumes: tuple[str, ...] | None = None) -> NodeHealth:
    """Look at one node: swarm, bricks it sees, heals of ``volumes``, mounts.

    Args:
        lab: The lab.
        name: The node.
        volumes: Volumes to ask about heals (default: the started volumes it knows).
    """
    swarm = _swarm_state(lab, name)
    mounts = _mounts(lab, name)
    if mounts is None:
        return NodeHealth(name, False, swarm, note="no SSH answer")
    known = _volumes(lab, name) if volumes is None else volumes
    bricks = _bricks(lab, name)
    return NodeHealth(name, True, swarm, known, bricks, _heal_pending(lab, name, known), mounts)


def wait_whole(
    lab: RemoteLab, before: NodeHealth, *, timeout: float, progress: Progress = quiet
) -> NodeHealth:
    """Wait until the node has again all that ``before`` saw; return the last look.

    Raises:
        NotConverged: Something was still missing after ``timeout`` seconds; the
            message lists what.
    """

    def look() -> NodeHealth:
        try:
            now = observe(lab, before.node, before.volumes)
        except WorkshopError as exc:  # a manager mid-election, a half-started daemon
            return NodeHealth(before.node, False, "", note=str(exc))
        gaps = now.missing(before)
        if gaps:
            progress(f"{before.node}: " + "; ".join(gaps))
        return now

    return poll_until(
        look,
        lambda now: not now.missing(before),
        timeout=timeout,
        interval=INTERVAL,
        what=f"{before.node} back to how it was before the fault",
        describe=lambda now: "\n".join(now.missing(before)),
    )

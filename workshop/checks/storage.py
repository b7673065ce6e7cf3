"""Chapter 05: the GlusterFS pool, the shared volume, and its healing.

Gluster is read through ``gluster ... --xml`` and the parsers of
:mod:`workshop.steps.gluster_parse`; the decisions on what they return
(:func:`peer_problems`, :func:`heal_problems`) are here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from workshop.checks.result import CheckResult, guarded, name_list
from workshop.errors import CommandFailed
from workshop.remote import RemoteLab
from workshop.steps.commands import sh, shell_line
from workshop.steps.fanout import run_checked
from workshop.steps.gluster import (
    GLUSTER,
    MOUNT,
    VOLUME,
    gluster_mounts,
    gluster_pool,
    gluster_volume_info,
    unmounted,
)
from workshop.steps.gluster_parse import GlusterPeer, GlusterVolume, HealBrick, parse_heal_info

__all__ = ["gluster_healed", "gluster_peers", "gluster_shared", "heal_problems", "peer_problems"]


def _said(failure: CommandFailed) -> str:
    """What a failed gluster command said: its first line of text, else the failure."""
    said = failure.stderr.strip() or failure.stdout.strip()
    if said and not said.startswith("<"):
        return said.splitlines()[0]
    return str(failure).splitlines()[0]


def _gluster_guarded(name: str, hint: str, probe: Callable[[], CheckResult]) -> CheckResult:
    """:func:`guarded`, where a failed gluster command fails the check with what it said."""

    def checked() -> CheckResult:
        try:
            return probe()
        except CommandFailed as failure:
            return CheckResult(name, False, _said(failure), hint)

    return guarded(name, hint, checked)


def _state(peer: GlusterPeer) -> str:
    return "Connected" if peer.connected else "Disconnected"


def peer_problems(pool: Sequence[GlusterPeer], peers: int) -> list[str]:
    """What is wrong with a node's trusted pool (``gluster pool list``) that needs ``peers``."""
    others = [peer for peer in pool if not peer.is_self]
    unconnected = [f"{peer.hostname} ({_state(peer)})" for peer in others if not peer.connected]
    if len(others) < peers:
        return [f"{len(others)} of {peers} peers in the pool", *unconnected]
    return unconnected


def gluster_peers(lab: RemoteLab) -> CheckResult:
    """Every other node is in the first node's trusted pool, and connected."""
    name = "GlusterFS peers connected"
    hint = "`gluster peer probe gluster-2` (and -3) on node-1; `gluster pool list` shows the pool"

    def probe() -> CheckResult:
        first = lab.nodes[0].name
        pool = gluster_pool(lab, first)
        others = [peer for peer in pool if not peer.is_self]
        problems = peer_problems(pool, len(lab.nodes) - 1)
        if problems:
            found = ", ".join(f"{p.hostname} {_state(p)}" for p in others) or "no peers"
            message = f"pool of {first}: {found}; {'; '.join(problems)}"
            return CheckResult(name, False, message, hint)
        names = ", ".join(peer.hostname for peer in others)
        return CheckResult(name, True, f"{first} and {names}: all connected")

    return _gluster_guarded(name, hint, probe)


def _unshared(lab: RemoteLab, first: str, readers: Sequence[str], mount: str) -> list[str]:
    """Write a file through the mount on ``first``; the ``readers`` that do not read it back."""
    marker = f"{mount}/.workshop-check-{uuid.uuid4().hex[:12]}"
    content = uuid.uuid4().hex
    run_checked(lab, shell_line(sh("echo", content), ">", sh(marker)), [first])
    try:
        read = lab.run(sh("cat", marker), on=readers, sudo=True, timeout=30)
    finally:
        lab.run(sh("rm", "-f", marker), on=first, sudo=True, timeout=30)
    return [r.node for r in read if r.stdout.strip() != content]


def _brick_count(volume: GlusterVolume) -> str:
    """The bricks as gluster counts them: ``1 x 3 = 3`` (sets x replicas), or ``3``."""
    bricks, replicas = len(volume.bricks), volume.replica_count
    return f"{bricks // replicas} x {replicas} = {bricks}" if replicas > 1 else str(bricks)


def gluster_shared(lab: RemoteLab, volume: str = VOLUME, mount: str = MOUNT) -> CheckResult:
    """The volume is started and replicated, mounted on every node, and shares files.

    A file written through the mount on the first node must be read back, with the
    same content, through the mount on every other node.
    """
    name = f"GlusterFS volume {volume} shared by every node"
    hint = (
        f"`gluster volume info {volume}` on node-1, `findmnt {mount}` on each node; "
        "steps.gluster_volume(lab) builds and mounts it"
    )

    def probe() -> CheckResult:
        stopped = [n.name for n in lab.nodes if not n.running]
        if stopped:
            advice = "; ".join(lab.source.start_advice(node) for node in stopped)
            return CheckResult(name, False, f"stopped: {name_list(stopped)}", advice)
        first = lab.nodes[0].name
        info = gluster_volume_info(lab, first, volume)
        if info is None or not info.started:
            seen = info.status if info is not None else "no such volume"
            return CheckResult(name, False, f"volume {volume}: {seen}", hint)
        missing = unmounted(gluster_mounts(lab, mount), volume)
        if missing:
            return CheckResult(name, False, f"not mounted at {mount} on {name_list(missing)}", hint)
        others = [n for n in lab.names if n != first] or [first]
        wrong = _unshared(lab, first, others, mount)
        if wrong:
            message = f"a file written on {first} is not read back on {name_list(wrong)}"
            return CheckResult(name, False, message, hint)
        return CheckResult(
            name,
            True,
            f"{info.type} volume ({_brick_count(info)} bricks) mounted at {mount} on "
            f"{name_list(lab.names)}; a file written on {first} reads the same on "
            f"{name_list(others)}",
        )

    return _gluster_guarded(name, hint, probe)


def heal_problems(bricks: Sequence[HealBrick]) -> list[str]:
    """Bricks that are not connected, or have entries left to heal."""
    problems = []
    for brick in bricks:
        if not brick.connected:
            problems.append(f"{brick.name} {brick.status}")
        elif brick.entries != 0:
            entries = "?" if brick.entries is None else brick.entries
            problems.append(f"{brick.name} has {entries} to heal")
    return problems


def gluster_healed(lab: RemoteLab, volume: str = VOLUME) -> CheckResult:
    """Every brick of the volume is connected and has nothing left to heal."""
    name = f"{volume}: every brick connected, nothing to heal"
    hint = (
        f"`gluster volume heal {volume} info` shows what is pending; start stopped nodes, "
        f"`gluster volume heal {volume}` starts a heal"
    )

    def probe() -> CheckResult:
        node = next((n.name for n in lab.nodes if n.running), None)
        if node is None:
            return CheckResult(name, False, "no node is running", hint)
        command = sh(*GLUSTER, "volume", "heal", volume, "info", "--xml")
        bricks = parse_heal_info(run_checked(lab, command, [node], timeout=60).stdout[node])
        if not bricks:
            return CheckResult(name, False, f"no bricks listed for {volume}", hint)
        problems = heal_problems(bricks)
        if problems:
            return CheckResult(name, False, "; ".join(problems), hint)
        return CheckResult(name, True, f"{len(bricks)} bricks connected, 0 entries to heal")

    return _gluster_guarded(name, hint, probe)

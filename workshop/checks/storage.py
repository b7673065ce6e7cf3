"""Chapter 05: the GlusterFS pool, the shared volume, and its healing.

Gluster's answers are read by the parsers of :mod:`workshop.checks.gluster_text`;
the decisions on them (:func:`peer_problems`, :func:`heal_problems`) are here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from workshop.checks.gluster_text import (
    BrickHeal,
    parse_heal_info,
    parse_pool_list,
    parse_volume_info,
)
from workshop.checks.result import CheckResult, guarded, name_list
from workshop.lab import RunResult
from workshop.remote import RemoteLab
from workshop.steps.gluster import GLUSTER, MOUNT, VOLUME, gluster_ok
from workshop.steps.shell import sh, shell_line

__all__ = ["gluster_healed", "gluster_peers", "gluster_shared", "heal_problems", "peer_problems"]


def _gluster(lab: RemoteLab, node: str, *args: str, timeout: float = 30) -> RunResult:
    """``gluster --mode=script ARGS`` on one node."""
    return lab.run(sh(*GLUSTER, *args), on=node, sudo=True, timeout=timeout)[0]


def _failure(result: RunResult) -> str:
    return result.stderr.strip() or str(result.error)


def peer_problems(pool: Mapping[str, str], peers: int) -> list[str]:
    """What is wrong with a node's trusted pool (hostname -> state) that needs ``peers``."""
    others = {host: state for host, state in pool.items() if host != "localhost"}
    unconnected = [f"{host} ({state})" for host, state in others.items() if state != "Connected"]
    if len(others) < peers:
        return [f"{len(others)} of {peers} peers in the pool", *unconnected]
    return unconnected


def gluster_peers(lab: RemoteLab) -> CheckResult:
    """Every other node is in the first node's trusted pool, and connected."""
    name = "GlusterFS peers connected"
    hint = "`gluster peer probe gluster-2` (and -3) on node-1; `gluster pool list` shows the pool"

    def probe() -> CheckResult:
        first = lab.nodes[0].name
        result = _gluster(lab, first, "pool", "list")
        if result.failed:
            return CheckResult(name, False, _failure(result), hint)
        pool = parse_pool_list(result.stdout)
        others = [host for host in pool if host != "localhost"]
        problems = peer_problems(pool, len(lab.nodes) - 1)
        if problems:
            found = ", ".join(f"{h} {pool[h]}" for h in others) or "no peers"
            message = f"pool of {first}: {found}; {'; '.join(problems)}"
            return CheckResult(name, False, message, hint)
        return CheckResult(name, True, f"{first} and {', '.join(others)}: all connected")

    return guarded(name, hint, probe)


def _unmounted(lab: RemoteLab, volume: str, mount: str) -> list[str]:
    """The nodes where ``mount`` is not the volume."""
    probe = shell_line(sh("findmnt", "-n", "-o", "SOURCE", mount), "||", "true")
    found = lab.run(probe, sudo=True, timeout=30).stdout
    return [node for node, source in found.items() if not source.endswith(f":/{volume}")]


def _unshared(lab: RemoteLab, first: str, readers: Sequence[str], mount: str) -> list[str]:
    """Write a file through the mount on ``first``; the ``readers`` that do not read it back."""
    marker = f"{mount}/.workshop-check-{uuid.uuid4().hex[:12]}"
    content = uuid.uuid4().hex
    write = shell_line(sh("echo", content), ">", sh(marker))
    lab.run(write, on=first, sudo=True, timeout=30).raise_for_failures()
    try:
        read = lab.run(sh("cat", marker), on=readers, sudo=True, timeout=30)
    finally:
        lab.run(sh("rm", "-f", marker), on=first, sudo=True, timeout=30)
    return [r.node for r in read if r.stdout.strip() != content]


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
        answer = _gluster(lab, first, "volume", "info", volume)
        info = None if answer.failed else parse_volume_info(answer.stdout)
        if info is None or info.status != "Started":
            seen = info.status if info is not None else "no such volume"
            return CheckResult(name, False, f"volume {volume}: {seen}", hint)
        if not gluster_ok(lab, volume, mount):
            missing = name_list(_unmounted(lab, volume, mount))
            return CheckResult(name, False, f"not mounted at {mount} on {missing}", hint)
        others = [n for n in lab.names if n != first] or [first]
        wrong = _unshared(lab, first, others, mount)
        if wrong:
            message = f"a file written on {first} is not read back on {name_list(wrong)}"
            return CheckResult(name, False, message, hint)
        return CheckResult(
            name,
            True,
            f"{info.kind} volume ({info.bricks} bricks) mounted at {mount} on "
            f"{name_list(lab.names)}; a file written on {first} reads the same on "
            f"{name_list(others)}",
        )

    return guarded(name, hint, probe)


def heal_problems(bricks: Sequence[BrickHeal]) -> list[str]:
    """Bricks that are not connected, or have entries left to heal."""
    problems = []
    for brick in bricks:
        if brick.status != "Connected":
            problems.append(f"{brick.brick} {brick.status}")
        elif brick.entries != "0":
            problems.append(f"{brick.brick} has {brick.entries} to heal")
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
        result = _gluster(lab, node, "volume", "heal", volume, "info", timeout=60)
        if result.failed:
            return CheckResult(name, False, _failure(result), hint)
        bricks = parse_heal_info(result.stdout)
        if not bricks:
            return CheckResult(name, False, f"no bricks listed for {volume}", hint)
        problems = heal_problems(bricks)
        if problems:
            return CheckResult(name, False, "; ".join(problems), hint)
        return CheckResult(name, True, f"{len(bricks)} bricks connected, 0 entries to heal")

    return guarded(name, hint, probe)
